"""The desk's one client of the services: who it names, the acting unit, the correlation id, a 202 polled
to its outcome, and a refusal (problem details) or an unreachable service as `Refused`.

The services answer through httpx's MockTransport: what is tested is the client's side of the protocol;
the desk against the real services is tests/browser."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from desk.services_client import ActingAs, FeeSubmission, Refused, ServicesClient
from desk.settings import DeskSettings
from efrikort.infra.pki import BROKER_FILE, ensure_broker_pki
from runtime.logs import correlation_id
from runtime.settings import ServiceSettings
from runtime.tls import CLIENT_IDLE_CONNECTION_KEPT_S, SERVER_KEEP_ALIVE_S, server_config
from tests.infra_fixtures import free_ports, uvicorn_serving

ANNA = ActingAs("SE2321000016-E001", "SE2321000016-U001")
FEE = FeeSubmission("198504121230", date(2025, 4, 25), "doctor_visit", 300, None, "visit", None)
OUTCOME = {"submission_id": "s", "status": "accepted", "fee_id": "f", "amount_due": 150, "counted_amount": 150}


def client_answering(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[ServicesClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = ServicesClient(DeskSettings(development_mode=True, registration_wait_s=5))
    client.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return client, seen


async def test_the_person_the_unit_and_the_correlation_id_go_with_every_call() -> None:
    client, seen = client_answering(lambda r: httpx.Response(200, json=[]))
    token = correlation_id.set("req-1")
    try:
        await client.overcharges(ANNA)
    finally:
        correlation_id.reset(token)
    [request] = seen
    assert request.headers["X-HSA-ID"] == ANNA.person
    assert request.headers["X-Care-Unit"] == ANNA.care_unit
    assert request.headers["X-Correlation-ID"] == "req-1"
    assert "X-On-Behalf-Of" not in request.headers
    assert request.url.path == "/v1/care-units/SE2321000016-U001/overcharges"


async def test_the_identity_number_travels_in_the_body_never_in_the_url() -> None:
    client, seen = client_answering(
        lambda r: httpx.Response(200, json={"protection": {"ceiling": 1450, "sum": 0, "remaining": 1450}, "fees": []})
    )
    await client.extract(ANNA, FEE.patient_id)
    assert FEE.patient_id not in str(seen[0].url) and FEE.patient_id.encode() in seen[0].content


async def test_each_registration_goes_under_a_new_submission_id_that_sorts_after_the_one_before() -> None:
    client, seen = client_answering(lambda r: httpx.Response(200, json=OUTCOME))
    await client.register(ANNA, FEE)
    await asyncio.sleep(0.002)
    await client.register(ANNA, FEE)
    first, second = (json.loads(request.content)["submission_id"] for request in seen)
    assert first.startswith("desk-") and uuid.UUID(first.removeprefix("desk-")).version == 7
    assert first < second  # time ordered: registration's index of submissions grows at its right edge


async def test_a_registration_answered_202_is_polled_at_its_location_until_the_outcome() -> None:
    answers = iter(
        [
            httpx.Response(
                202, json={"fee_id": "f"}, headers={"Location": "/v1/submissions/s/outcome", "Retry-After": "0"}
            ),
            httpx.Response(
                202, json={"fee_id": "f"}, headers={"Location": "/v1/submissions/s/outcome", "Retry-After": "0"}
            ),
            httpx.Response(200, json=OUTCOME),
        ]
    )
    client, seen = client_answering(lambda r: next(answers))
    outcome = await client.register(ANNA, FEE)
    assert (outcome.status, outcome.amount_due) == ("accepted", 150)
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/v1/fees"),
        ("GET", "/v1/submissions/s/outcome"),
        ("GET", "/v1/submissions/s/outcome"),
    ]
    assert seen[0].headers["X-HSA-ID"] == ANNA.person


async def test_a_problem_document_becomes_a_refusal_with_its_code_title_and_detail() -> None:
    problem = {
        "type": "https://efrikort.example/problems/role_not_permitted",
        "title": "Forbidden",
        "status": 403,
        "detail": "registered_by: the role EFK;BegränsadAnvändare may not do fee.register",
        "code": "role_not_permitted",
        "field": "registered_by",
        "reasons": [{"code": "role_not_permitted", "field": "registered_by", "message": "no"}],
    }
    client, _ = client_answering(lambda r: httpx.Response(403, json=problem))
    with pytest.raises(Refused) as refused:
        await client.register(ANNA, FEE)
    assert (refused.value.status, refused.value.code, refused.value.field) == (
        403,
        "role_not_permitted",
        "registered_by",
    )
    assert refused.value.detail.startswith("registered_by:") and refused.value.reasons[0].code == "role_not_permitted"


async def test_a_service_that_does_not_answer_is_a_refusal_too() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, _ = client_answering(unreachable)
    with pytest.raises(Refused) as refused:
        await client.protection(ANNA, FEE.patient_id)
    assert (refused.value.status, refused.value.code) == (503, "service_unavailable")


async def test_a_body_that_is_no_problem_document_still_gives_the_status() -> None:
    client, _ = client_answering(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(Refused) as refused:
        await client.fee_types(ANNA)
    assert (refused.value.status, refused.value.code) == (502, "error")


async def test_with_a_certificate_of_its_own_the_desk_names_the_person_on_behalf_of(tmp_path: Path) -> None:
    ca = ensure_broker_pki(tmp_path)
    own = str(ca.parent / BROKER_FILE)
    settings = DeskSettings(client_certificate=own, client_private_key=own, services_ca=str(ca))
    client = ServicesClient(settings)
    headers = client.headers(ANNA)
    assert headers["X-On-Behalf-Of"] == ANNA.person and "X-HSA-ID" not in headers
    assert headers["X-Care-Unit"] == ANNA.care_unit
    await client.close()


async def test_the_desk_lets_go_of_an_idle_connection_before_the_service_closes_it() -> None:
    # Against a service served as every service is (`server_config`): a request on a connection the service
    # is closing gets no answer, so the desk must open a new one before the service's keep-alive runs out.
    app = FastAPI()

    @app.get("/v1/port")
    async def port(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    [http_port] = free_ports(1)
    settings = ServiceSettings(service_name="keep-alive-test", http_port=http_port)
    config = server_config(app, settings)
    assert config.timeout_keep_alive == SERVER_KEEP_ALIVE_S
    client = ServicesClient(
        DeskSettings(development_mode=True, registration_url=f"http://127.0.0.1:{http_port}", service_timeout_s=5)
    )

    async def port_seen() -> int:
        response = await client.call(ANNA, "GET", "registration", "/v1/port")
        return int(response.json()["port"])

    async with uvicorn_serving(config):
        try:
            first = await port_seen()
            assert await port_seen() == first, "a connection in use is kept"
            await asyncio.sleep(CLIENT_IDLE_CONNECTION_KEPT_S + 0.5)
            assert CLIENT_IDLE_CONNECTION_KEPT_S + 0.5 < SERVER_KEEP_ALIVE_S
            assert await port_seen() != first, "an idle connection was kept as long as the service keeps it"
        finally:
            await client.close()
