"""Who may look up a patient and work a unit's overcharges: protection asks its own read model of the
access grants, taken in from the grants topic, and refuses with a problem naming the reason."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.access_events import AccessRole
from contracts.topics import INTERNAL_FEE_OUTCOMES, OVERCHARGES
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from efrikort.through_access import PartialExport
from tests.actors import AccessInProcess, admit
from tests.integration.protection.conftest import DESK, REGION, UNIT_A, UNIT_C, Patient
from tests.kafka_clients import reading
from tests.submissions import new_patient

pytestmark = pytest.mark.integration

LIMITED = "SE2321000016-E102"
"""`EFK;BegränsadAnvändare` at unit A: may look up a patient's status only."""
WITHOUT_ROLE = "SE2321000016-E106"
"""A commission at unit A, but no e-frikort role."""
OTHER_PROVIDERS_USER = "SE2321000099-E201"
"""`EFK;Användare` at unit C, of another provider in the region."""
ADMINISTRATOR = "SE2321000099-E203"
"""`EFK;Administratör` at unit C: the region's administrators reach every provider's units."""
NOBODY = "SE2321000016-E999"
"""No grant anywhere."""
REGION_ELSEWHERE = "Region Annan"
PROVIDER_ELSEWHERE = "SE2321000016-P004"
UNIT_ELSEWHERE = "SE2321000016-U005"
"""The sample directory's unit of Region Annan, whose provider has signed Region Annan's agreement."""
USER_ELSEWHERE = "SE2321000016-E008"
"""`EFK;Användare` at that unit: a user in good standing, of a region this deployment does not serve."""


def caller(hsa_id: str) -> dict[str, str]:
    return {"X-HSA-ID": hsa_id}


@pytest.fixture(scope="module")
async def actors(granted: ServiceProcess, access: AccessInProcess, infra: InfraEndpoints) -> None:
    """The people above, at the units the package's access already knows; and Region Annan's unit, its
    provider with that region's agreement, and its user."""
    actors = PartialExport(REGION)
    actors.employee(LIMITED, UNIT_A, role=AccessRole.LIMITED_USER)
    actors.employee(WITHOUT_ROLE, UNIT_A, role=None)
    actors.employee(OTHER_PROVIDERS_USER, UNIT_C)
    actors.employee(ADMINISTRATOR, UNIT_C, role=AccessRole.ADMINISTRATOR)
    elsewhere = actors.provider(PROVIDER_ELSEWHERE, region=REGION_ELSEWHERE)
    actors.employee(USER_ELSEWHERE, actors.unit(UNIT_ELSEWHERE, elsewhere, region=REGION_ELSEWHERE))
    await admit(infra, actors, access=access.name, readers=("protection",))


@pytest.fixture
async def anyone(granted: ServiceProcess, actors: None) -> AsyncIterator[httpx.AsyncClient]:
    """A client that says who calls on each request."""
    async with httpx.AsyncClient(base_url=granted.url, timeout=10) as client:
        yield client


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"].endswith("/" + problem["code"]) and problem["detail"]
    assert [r["code"] for r in problem["reasons"]] == [problem["code"]]
    return str(problem["code"])


async def test_any_role_may_look_up_a_patient_and_others_are_told_what_is_missing(
    anyone: httpx.AsyncClient,
) -> None:
    patient = {"patient_id": new_patient()}
    for path in ("/v1/patients/protection", "/v1/patients/extract"):
        assert (await anyone.post(path, json=patient, headers=caller(LIMITED))).status_code == 200
        assert refusal(await anyone.post(path, json=patient, headers=caller(NOBODY))) == "no_commission"
        assert refusal(await anyone.post(path, json=patient, headers=caller(WITHOUT_ROLE))) == "no_role"
        # Acting for a unit where they hold nothing: the unit named is the one decided on.
        elsewhere = {**caller(LIMITED), "X-Care-Unit": UNIT_C}
        assert refusal(await anyone.post(path, json=patient, headers=elsewhere)) == "no_commission"
        # Through an integrated system, which must be approved for the unit's region.
        through = {**caller(LIMITED), "X-System-ID": "SE2321000016-SYS-UNKNOWN"}
        assert refusal(await anyone.post(path, json=patient, headers=through)) == "system_not_approved"


async def test_a_user_acting_for_a_unit_of_another_region_may_not_look_up_a_patient(
    anyone: httpx.AsyncClient,
) -> None:
    patient = {"patient_id": new_patient()}
    for path in ("/v1/patients/protection", "/v1/patients/extract"):
        assert refusal(await anyone.post(path, json=patient, headers=caller(USER_ELSEWHERE))) == "region_not_served"
        named = {**caller(USER_ELSEWHERE), "X-Care-Unit": UNIT_ELSEWHERE}
        assert refusal(await anyone.post(path, json=patient, headers=named)) == "region_not_served"
    assert refusal(
        await anyone.get(f"/v1/care-units/{UNIT_ELSEWHERE}/overcharges", headers=caller(USER_ELSEWHERE))
    ) == ("region_not_served")


async def test_an_overcharge_is_seen_and_marked_refunded_only_by_those_whose_role_and_reach_allow_it(
    anyone: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    infra: InfraEndpoints,
) -> None:
    patient = Patient(producer)
    async with (
        reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes,
        reading(infra.kafka_bootstrap_servers, OVERCHARGES.name) as overcharges,
    ):
        # The later visit arrives first and is charged in full; the earlier one, arriving after, takes
        # the sum past the ceiling on the replay: unit A owes the patient 50.
        late = await patient.register("late", date(2025, 6, 1), 1000, UNIT_A)
        await outcomes.wait_for(lambda r: r.key == late.submission_id.encode())
        await patient.register("early", date(2025, 4, 25), 500, UNIT_A)
        [found] = await overcharges.wait_for(lambda r: r.key == patient.key.encode())
    overcharge_id = json.loads(found.value)["payload"]["overcharge_id"]
    listing, refund = f"/v1/care-units/{UNIT_A}/overcharges", f"/v1/overcharges/{overcharge_id}/refunded"

    async def open_ids() -> list[str]:
        listed = await anyone.get(listing, headers=DESK)
        assert listed.status_code == 200, listed.text
        return [o["overcharge_id"] for o in listed.json()]

    assert overcharge_id in await open_ids()
    for who, reason in (
        (LIMITED, "role_not_permitted"),
        (OTHER_PROVIDERS_USER, "other_provider"),
        (NOBODY, "no_commission"),
    ):
        assert refusal(await anyone.get(listing, headers=caller(who))) == reason, who
        assert refusal(await anyone.post(refund, headers=caller(who))) == reason, who
    assert overcharge_id in await open_ids(), "a refused request changed nothing"

    refunded = await anyone.post(refund, headers=caller(ADMINISTRATOR))
    assert refunded.status_code == 200, refunded.text
    assert overcharge_id not in await open_ids()
