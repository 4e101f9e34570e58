"""A quote: what a visit would cost on its date, by the rules that assess a registered fee, with nothing
stored; the fee types for the desk's select; extract lines that name their fee. Who may ask, and what a
quote with a field at fault is answered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import clock
from contracts.access_events import AccessRole
from contracts.topics import AUDIT, FREE_CARDS, INTERNAL_FEE_OUTCOMES, PATIENT_STATUS
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from efrikort.through_access import PartialExport
from tests.actors import AccessInProcess, admit
from tests.integration.protection.conftest import DESK, REGION, UNIT_A, UNIT_C, Patient
from tests.kafka_clients import reading
from tests.submissions import new_patient

pytestmark = pytest.mark.integration

SCHEMA = "protection"
LIMITED = "SE2321000016-E302"
"""`EFK;BegränsadAnvändare` at unit A: may ask for a quote (it only reads)."""
WITHOUT_ROLE = "SE2321000016-E306"
NOBODY = "SE2321000016-E399"
UNIT_ELSEWHERE = "SE2321000016-U305"
USER_ELSEWHERE = "SE2321000016-E308"
"""`EFK;Användare` of a unit in Region Annan, whose provider signed that region's agreement."""


def caller(hsa_id: str, **headers: str) -> dict[str, str]:
    return {"X-HSA-ID": hsa_id, **headers}


@pytest.fixture(scope="module")
async def actors(granted: ServiceProcess, access: AccessInProcess, infra: InfraEndpoints) -> None:
    actors = PartialExport(REGION)
    actors.employee(LIMITED, UNIT_A, role=AccessRole.LIMITED_USER)
    actors.employee(WITHOUT_ROLE, UNIT_A, role=None)
    elsewhere = actors.provider("SE2321000016-P305", region="Region Annan")
    actors.employee(USER_ELSEWHERE, actors.unit(UNIT_ELSEWHERE, elsewhere, region="Region Annan"))
    await admit(infra, actors, access=access.name, readers=("protection",))


@pytest.fixture
async def anyone(granted: ServiceProcess, actors: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=granted.url, timeout=10) as client:
        yield client


def visit(patient_id: str, day: date, amount: int, fee_type: str = "doctor_visit") -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "visit_date": day.isoformat(),
        "care_unit": UNIT_A,
        "fee_type": fee_type,
        "fee_amount": amount,
    }


async def rows_about(db: asyncpg.Connection, key: str) -> dict[str, list[str]]:
    """Every row with the patient's key in every table of protection's schema, as text."""
    found: dict[str, list[str]] = {}
    for table in await db.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'patient_key'",
        SCHEMA,
    ):
        name = f'"{SCHEMA}"."{table["table_name"]}"'
        rows = await db.fetch(f"SELECT t::text AS row FROM {name} AS t WHERE patient_key = $1 ORDER BY 1", key)
        found[name] = [r["row"] for r in rows]
    return found


async def test_a_quote_is_the_assessment_a_fee_would_get_and_stores_nothing(
    anyone: httpx.AsyncClient, producer: AIOKafkaProducer, infra: InfraEndpoints, db: asyncpg.Connection
) -> None:
    patient = Patient(producer)
    async with (
        reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes,
        reading(infra.kafka_bootstrap_servers, AUDIT.name) as audit,
        reading(infra.kafka_bootstrap_servers, FREE_CARDS.name) as cards,
        reading(infra.kafka_bootstrap_servers, PATIENT_STATUS.name) as statuses,
    ):
        first = await patient.register("first", date(2025, 4, 25), 1000)
        await outcomes.wait_for(lambda r: r.key == first.submission_id.encode())
        # What the registration itself publishes is out before the quote is asked for.
        await statuses.wait_for(lambda r: r.key == patient.key.encode())
        await cards.drain(0.5)
        published_before = (cards.with_key(patient.key), statuses.with_key(patient.key))
        before = await rows_about(db, patient.key)
        assert before[f'"{SCHEMA}"."fees"'], "the patient's fee is recorded"

        # 1000 already counted: a 600 visit costs what is left to the 2025 ceiling of 1450, and makes the card.
        quoted = await anyone.post("/v1/quotes", json=visit(patient.identity, date(2025, 5, 10), 600), headers=DESK)
        assert quoted.status_code == 200, quoted.text
        # The audit entry is written in the quote's transaction: once it is out, anything else would be too.
        [entry] = await audit.wait_for(lambda r: r.key == patient.key.encode())
        await cards.drain(1.0)
        await statuses.drain(0.5)
        assert (cards.with_key(patient.key), statuses.with_key(patient.key)) == published_before
    assert json.loads(entry.value)["payload"]["action"] == "protection.quote"
    assert await rows_about(db, patient.key) == before, "a quote changes no row of protection's"

    answer = quoted.json()
    assert {k: answer[k] for k in ("visit_date", "fee_type", "fee_amount")} == {
        "visit_date": "2025-05-10",
        "fee_type": "doctor_visit",
        "fee_amount": 600,
    }
    assert (answer["amount_due"], answer["counted_amount"]) == (450, 450)
    assert (answer["reaches_ceiling"], answer["free_card_applies"]) == (True, False)
    protection = answer["protection"]
    assert (protection["period_start"], protection["ceiling"], protection["sum"], protection["remaining"]) == (
        "2025-04-25",
        1450,
        1450,
        0,
    )
    card = protection["free_card"]
    assert (card["number"], card["valid_from"], card["valid_to"]) == (None, "2025-05-10", "2026-04-24")


async def test_a_quote_is_replayed_in_visit_date_order(
    anyone: httpx.AsyncClient, producer: AIOKafkaProducer, infra: InfraEndpoints
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        later = await patient.register("later", date(2025, 6, 1), 500)
        await outcomes.wait_for(lambda r: r.key == later.submission_id.encode())
    # An earlier visit is assessed before the later fee: in full, and the period starts on its date.
    quoted = await anyone.post("/v1/quotes", json=visit(patient.identity, date(2025, 4, 1), 600), headers=DESK)
    assert quoted.status_code == 200, quoted.text
    answer = quoted.json()
    assert (answer["amount_due"], answer["reaches_ceiling"]) == (600, False)
    assert (answer["protection"]["period_start"], answer["protection"]["sum"]) == ("2025-04-01", 600)


async def test_a_quote_on_a_day_a_free_card_covers_costs_nothing_but_a_fee_the_card_does_not_cover(
    anyone: httpx.AsyncClient, producer: AIOKafkaProducer, infra: InfraEndpoints
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        fee = await patient.register("ceiling", date(2025, 4, 25), 1500)
        [outcome] = await outcomes.wait_for(lambda r: r.key == fee.submission_id.encode())
    number = json.loads(outcome.value)["protection"]["free_card"]["number"]

    covered = await anyone.post("/v1/quotes", json=visit(patient.identity, date(2025, 6, 1), 300), headers=DESK)
    assert covered.status_code == 200, covered.text
    answer = covered.json()
    assert (answer["amount_due"], answer["counted_amount"]) == (0, 0)
    assert (answer["reaches_ceiling"], answer["free_card_applies"]) == (False, True)
    assert answer["protection"]["free_card"]["number"] == number

    missed = visit(patient.identity, date(2025, 6, 1), 200, fee_type="missed_appointment")
    not_covered = await anyone.post("/v1/quotes", json=missed, headers=DESK)
    assert (not_covered.json()["amount_due"], not_covered.json()["free_card_applies"]) == (200, True)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"fee_type": "no_such_fee"}, "unknown_fee_type", "fee_type"),
        # A week ahead, not tomorrow: the parameters are made when the tests are collected, and a run across
        # midnight in Sweden turned "tomorrow" into today before this test ran.
        ({"visit_date": (clock.today_in_sweden() + timedelta(days=7)).isoformat()}, "future_visit_date", "visit_date"),
        ({"visit_date": "2018-12-31"}, "visit_date_not_covered", "visit_date"),
        ({"fee_amount": -1}, "negative_amount", "fee_amount"),
        ({"fee_amount": 2**31}, "amount_too_large", "fee_amount"),
        ({"patient_id": "19850412-1231"}, "invalid_patient_id", "patient_id"),
        ({"fee_amount": "300"}, "invalid_value", "fee_amount"),
        ({"visit_date": "2025-4-1"}, "invalid_value", "visit_date"),
    ],
)
async def test_a_quote_with_a_field_at_fault_is_answered_422_naming_the_field(
    anyone: httpx.AsyncClient, change: dict[str, Any], code: str, field: str
) -> None:
    asked = {**visit(new_patient(), date(2025, 5, 1), 300), **change}
    answered = await anyone.post("/v1/quotes", json=asked, headers=DESK)
    assert answered.status_code == 422, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    problem = answered.json()
    assert (problem["code"], problem["field"]) == (code, field)
    assert asked["patient_id"] not in answered.text


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["code"])


async def test_any_role_may_ask_for_a_quote_and_others_are_told_what_is_missing(anyone: httpx.AsyncClient) -> None:
    asked = visit(new_patient(), date(2025, 5, 1), 300)
    assert (await anyone.post("/v1/quotes", json=asked, headers=caller(LIMITED))).status_code == 200
    assert refusal(await anyone.post("/v1/quotes", json=asked, headers=caller(NOBODY))) == "no_commission"
    assert refusal(await anyone.post("/v1/quotes", json=asked, headers=caller(WITHOUT_ROLE))) == "no_role"
    at_another_unit = caller(LIMITED, **{"X-Care-Unit": UNIT_C})
    assert refusal(await anyone.post("/v1/quotes", json=asked, headers=at_another_unit)) == "no_commission"
    assert refusal(await anyone.post("/v1/quotes", json=asked, headers=caller(USER_ELSEWHERE))) == "region_not_served"
    unidentified = await anyone.post("/v1/quotes", json=asked)
    assert unidentified.status_code == 401


async def test_the_fee_types_are_read_by_any_role_and_by_nobody_else(anyone: httpx.AsyncClient) -> None:
    listed = await anyone.get("/v1/fee-types", headers=caller(LIMITED))
    assert listed.status_code == 200, listed.text
    by_code = {t["code"]: t for t in listed.json()}
    assert by_code["doctor_visit"] == {
        "code": "doctor_visit",
        "name_sv": "Läkarbesök",
        "name_en": "Doctor's visit",
        "counting": True,
    }
    assert by_code["missed_appointment"]["counting"] is False
    assert refusal(await anyone.get("/v1/fee-types", headers=caller(NOBODY))) == "no_commission"
    assert refusal(await anyone.get("/v1/fee-types", headers=caller(WITHOUT_ROLE))) == "no_role"
    assert refusal(await anyone.get("/v1/fee-types", headers=caller(USER_ELSEWHERE))) == "region_not_served"
    assert (await anyone.get("/v1/fee-types")).status_code == 401


async def test_the_extract_names_each_fee_and_its_version(
    anyone: httpx.AsyncClient, producer: AIOKafkaProducer, infra: InfraEndpoints
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        fee = await patient.register("one", clock.today_in_sweden() - timedelta(days=3), 200)
        await outcomes.wait_for(lambda r: r.key == fee.submission_id.encode())
    extracted = await anyone.post("/v1/patients/extract", json={"patient_id": patient.identity}, headers=DESK)
    assert extracted.status_code == 200, extracted.text
    [line] = extracted.json()["fees"]
    assert (line["fee_id"], line["version"]) == (str(fee.fee_id), 1)


async def test_a_status_lookup_on_a_day_the_region_s_rules_do_not_cover_is_answered_422_naming_the_date(
    anyone: httpx.AsyncClient,
) -> None:
    patient = new_patient()
    answered = await anyone.post(
        "/v1/patients/protection", json={"patient_id": patient, "date": "0001-01-01"}, headers=DESK
    )
    assert answered.status_code == 422, answered.text
    assert (answered.json()["code"], answered.json()["field"]) == ("date_not_covered", "date")
    assert patient not in answered.text
