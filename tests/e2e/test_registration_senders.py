"""Whose a submission is: the system it comes through, or the person registering through none. A sender's
submission ids are its own, and so are their outcomes: nobody takes another's id, or reads another's outcome."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.topics import FEES
from efrikort.infra.stack import InfraEndpoints
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import DROP, as_caller, post_fee, valid_fee
from tests.kafka_clients import eventually, plain_producer, reading
from tests.submissions import new_patient, outcomes_topic, submissions_topic

pytestmark = pytest.mark.e2e


async def as_person(http: httpx.AsyncClient, fee: dict[str, Any]) -> httpx.Response:
    """A person at the web application: through no system (no X-System-ID)."""
    return await http.post("/v1/fees", json=fee, headers=as_caller(fee["registered_by"]))


async def outcome_for(http: httpx.AsyncClient, submission_id: str, headers: dict[str, str]) -> httpx.Response:
    """The submission's outcome as the caller is answered it, once it is more than pending."""

    async def polled() -> httpx.Response | None:
        response = await http.get(f"/v1/submissions/{submission_id}/outcome", headers=headers)
        return None if response.status_code == 202 else response

    answer = await eventually(polled, timeout=15)
    assert answer is not None
    return answer


async def test_a_person_naming_a_system_is_refused_and_the_systems_own_submission_with_that_id_is_accepted(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    taken = valid_fee(directory)
    real = {**taken, "patient_id": new_patient(), "fee_amount": 150, "paid_amount": 150}

    refused = await as_person(registration_http, taken)

    assert refused.status_code == 403, refused.text
    assert (refused.json()["code"], refused.json()["field"]) == ("system_not_caller", "system_id")
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        key = real["submission_id"].encode()
        await producer.send_and_wait(submissions_topic(directory.system), json.dumps(real).encode(), key=key)
        [answer] = await outcomes.wait_for(lambda r: r.key == key)
    outcome = json.loads(answer.value)
    assert (outcome["status"], outcome["amount_due"]) == ("accepted", 150)


async def test_a_person_registers_through_no_system_and_cannot_take_a_systems_submission_id(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    persons = valid_fee(directory, system_id=DROP, fee_amount=100, paid_amount=100)
    systems = {**valid_fee(directory, fee_amount=200, paid_amount=200), "submission_id": persons["submission_id"]}

    async with reading(infra.kafka_bootstrap_servers, FEES.name) as fees:
        by_person = await as_person(registration_http, persons)
        by_system = await post_fee(registration_http, systems)
        assert by_person.status_code == 200, by_person.text
        [event] = await fees.wait_for(lambda r: by_person.json()["fee_id"].encode() in r.value)

    assert by_system.status_code == 200, by_system.text
    assert by_person.json()["fee_id"] != by_system.json()["fee_id"]
    assert (by_person.json()["amount_due"], by_system.json()["amount_due"]) == (100, 200)
    rows = await db.fetch(
        "SELECT system_id, fee_amount FROM registration.fee_versions WHERE submission_id = $1 ORDER BY fee_amount",
        persons["submission_id"],
    )
    assert [(r["system_id"], r["fee_amount"]) for r in rows] == [(None, 100), (directory.system, 200)]
    assert json.loads(event.value)["payload"]["system_id"] is None


async def test_two_senders_with_the_same_submission_id_each_read_back_only_their_own_outcome(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    first = valid_fee(directory, fee_amount=100, paid_amount=100)
    second = {
        **valid_fee(directory, system_id=directory.second_system, fee_amount=200, paid_amount=200),
        "submission_id": first["submission_id"],
    }
    registered_first = await post_fee(registration_http, first)
    registered_second = await post_fee(registration_http, second)
    assert registered_first.status_code == registered_second.status_code == 200, registered_second.text

    through_first = await outcome_for(
        registration_http, first["submission_id"], as_caller(directory.user, directory.system)
    )
    through_second = await outcome_for(
        registration_http, first["submission_id"], as_caller(directory.user, directory.second_system)
    )

    assert through_first.status_code == 200 and through_second.status_code == 200
    assert (through_first.json()["fee_id"], through_first.json()["amount_due"]) == (
        registered_first.json()["fee_id"],
        100,
    )
    assert (through_second.json()["fee_id"], through_second.json()["amount_due"]) == (
        registered_second.json()["fee_id"],
        200,
    )
    # The same person through no system sent nothing under that id: it is not theirs to read.
    not_theirs = await registration_http.get(
        f"/v1/submissions/{first['submission_id']}/outcome", headers=as_caller(directory.user)
    )
    assert not_theirs.status_code == 404
