"""Protection through real Kafka and PostgreSQL: fee events in, outcomes, free card and overcharge
events out, the ledger in its own schema, the HTTP API on top."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import FeeRegistered
from contracts.topics import FREE_CARDS, INTERNAL_FEE_OUTCOMES, OVERCHARGES
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.integration.protection.conftest import UNIT_A, UNIT_B, UNIT_C, Patient
from tests.kafka_clients import TopicReader, eventually, reading
from tests.submissions import new_patient

pytestmark = pytest.mark.integration


def outcome_of(outcomes: TopicReader, fee: FeeRegistered) -> dict[str, Any]:
    [record] = [r for r in outcomes.seen if r.key == fee.submission_id.encode()]
    return json.loads(record.value)


def events(reader: TopicReader, patient: Patient) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in reader.seen if r.key == patient.key.encode()]


async def test_fees_arriving_out_of_order_end_in_the_ledger_of_their_visit_dates(
    protection: ServiceProcess, producer: AIOKafkaProducer, http: httpx.AsyncClient, infra: InfraEndpoints
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        # The last visit arrives first, the first visit last.
        for name, day in (("third", date(2025, 8, 1)), ("second", date(2025, 6, 1)), ("first", date(2025, 4, 25))):
            fee = await patient.register(name, day, 500)
            await outcomes.wait_for(lambda r, f=fee: r.key == f.submission_id.encode())  # type: ignore[misc]

    # Each was assessed on the ledger as it stood on arrival: 500 each, 1 500 paid in all...
    assert [outcome_of(outcomes, patient.fees[n])["amount_due"] for n in ("third", "second", "first")] == [
        500,
        500,
        500,
    ]
    # ...but the ledger is the replay by visit date: the 1 August visit reached the ceiling with 450,
    # so its unit owes the patient 50, and the card starts on 1 August.
    owed = (await http.get(f"/v1/care-units/{UNIT_A}/overcharges")).json()
    assert [(o["fee_id"], o["amount"]) for o in owed if o["fee_id"] == str(patient.fees["third"].fee_id)] == [
        (str(patient.fees["third"].fee_id), 50)
    ]
    status = (
        await http.post("/v1/patients/protection", json={"patient_id": patient.identity, "date": "2025-08-01"})
    ).json()
    assert status["status"] in ("preliminary", "final")
    assert status["period_start"] == "2025-04-25"
    assert status["free_card"]["valid_from"] == "2025-08-01"
    assert status["free_card"]["valid_to"] == "2026-04-24"


async def test_a_late_receipt_moves_the_free_card_earlier_and_yields_an_overcharge_until_refunded(
    protection: ServiceProcess, producer: AIOKafkaProducer, http: httpx.AsyncClient, infra: InfraEndpoints
) -> None:
    patient = Patient(producer)
    async with (
        reading(infra.kafka_bootstrap_servers, FREE_CARDS.name) as cards,
        reading(infra.kafka_bootstrap_servers, OVERCHARGES.name) as overcharges,
        reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes,
    ):
        await patient.register("first", date(2025, 4, 25), 1000, UNIT_A)
        reached = await patient.register("reached", date(2025, 10, 10), 450, UNIT_B)
        [issued] = await cards.wait_for(lambda r: r.key == patient.key.encode())
        issued_card = json.loads(issued.value)["payload"]
        assert issued_card["valid_from"] == "2025-10-10"
        await outcomes.wait_for(lambda r: r.key == reached.submission_id.encode())
        assert outcome_of(outcomes, reached)["amount_due"] == 450

        # Weeks later a paper receipt from another region: the ceiling was reached on 1 June already.
        await patient.register("receipt", date(2025, 6, 1), 450, UNIT_C, paid=450, fee_type="receipt_other_region")
        await cards.wait_for(lambda r: r.key == patient.key.encode(), count=2)
        [found] = await overcharges.wait_for(lambda r: r.key == patient.key.encode())

    moved = events(cards, patient)[1]
    assert moved["event_type"] == "FreeCardMoved"
    assert moved["payload"]["number"] == issued_card["number"]
    assert (moved["payload"]["valid_from"], moved["payload"]["previous_valid_from"]) == ("2025-06-01", "2025-10-10")
    overcharge = json.loads(found.value)["payload"]
    # The 10 October visit was charged 450 by unit B and now falls under the free card.
    assert (overcharge["care_unit"], overcharge["amount"], overcharge["amount_due"]) == (UNIT_B, 450, 0)

    owed = (await http.get(f"/v1/care-units/{UNIT_B}/overcharges")).json()
    assert [o["overcharge_id"] for o in owed] == [overcharge["overcharge_id"]]
    refunded = await http.post(f"/v1/overcharges/{overcharge['overcharge_id']}/refunded")
    assert refunded.status_code == 200
    assert (await http.get(f"/v1/care-units/{UNIT_B}/overcharges")).json() == []
    again = await http.post(f"/v1/overcharges/{overcharge['overcharge_id']}/refunded")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_a_registration_that_arrives_after_its_correction_does_not_undo_it(
    protection: ServiceProcess, producer: AIOKafkaProducer, http: httpx.AsyncClient, infra: InfraEndpoints
) -> None:
    patient = Patient(producer)
    registered, corrected = date.today() - timedelta(days=20), date.today() - timedelta(days=10)
    fee = patient.fee("visit", registered, 300)
    await patient.correct("visit", corrected)

    async def lines() -> list[tuple[int, date]] | None:
        extract = (await http.post("/v1/patients/extract", json={"patient_id": patient.identity})).json()
        found = [(f["version"], date.fromisoformat(f["visit_date"])) for f in extract["fees"]]
        return found or None

    assert await eventually(lines) == [(2, corrected)]
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        await patient.publish(fee)
        await outcomes.wait_for(lambda r: r.key == fee.submission_id.encode())

    # Version 1 is kept among the fee's versions, but the fee stays as its correction left it.
    assert await lines() == [(2, corrected)]


async def test_a_deletion_that_takes_the_sum_below_the_ceiling_revokes_the_free_card(
    protection: ServiceProcess,
    producer: AIOKafkaProducer,
    http: httpx.AsyncClient,
    infra: InfraEndpoints,
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, FREE_CARDS.name) as cards:
        await patient.register("first", date(2025, 4, 25), 1000)
        await patient.register("reached", date(2025, 10, 10), 450)
        [issued] = await cards.wait_for(lambda r: r.key == patient.key.encode())
        await patient.delete("reached")
        await cards.wait_for(lambda r: r.key == patient.key.encode(), count=2)

    revoked = events(cards, patient)[1]
    assert revoked["event_type"] == "FreeCardRevoked"
    assert revoked["payload"]["number"] == json.loads(issued.value)["payload"]["number"]
    status = (
        await http.post("/v1/patients/protection", json={"patient_id": patient.identity, "date": "2025-10-10"})
    ).json()
    assert (status["status"], status["sum"], status["free_card"]) == ("below_limit", 1000, None)


async def test_every_fee_version_is_kept_and_the_extract_lists_the_period(
    protection: ServiceProcess,
    producer: AIOKafkaProducer,
    http: httpx.AsyncClient,
    infra: InfraEndpoints,
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        kept = await patient.register("kept", date.today().replace(day=1), 300)
        gone = await patient.register("gone", date.today().replace(day=1), 200)
        await outcomes.wait_for(lambda r: r.key in (kept.submission_id.encode(), gone.submission_id.encode()), count=2)
    await patient.delete("gone")

    conn = await asyncpg.connect(infra.database_url)
    try:

        async def versions() -> list[tuple[str, int]]:
            rows = await conn.fetch(
                "SELECT event_type, version FROM protection.fee_versions WHERE patient_key = $1 "
                "ORDER BY event_type, version",
                patient.key,
            )
            return [(r["event_type"], r["version"]) for r in rows]

        assert await eventually(lambda: _all_three(versions)) == [
            ("FeeDeleted", 2),
            ("FeeRegistered", 1),
            ("FeeRegistered", 1),
        ]
    finally:
        await conn.close()

    extract = (await http.post("/v1/patients/extract", json={"patient_id": patient.identity})).json()
    assert [(f["fee_amount"], f["amount_due"]) for f in extract["fees"]] == [(300, 300)]
    pdf = await http.post(
        "/v1/patients/extract", json={"patient_id": patient.identity}, headers={"Accept": "application/pdf"}
    )
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


async def _all_three(versions: Callable[[], Awaitable[list[tuple[str, int]]]]) -> list[tuple[str, int]] | None:
    found = await versions()
    return found if len(found) == 3 else None


async def test_a_lookup_needs_a_valid_identity_number_and_a_caller(
    protection: ServiceProcess, http: httpx.AsyncClient
) -> None:
    bad = await http.post("/v1/patients/protection", json={"patient_id": "19850412-1231"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "patient_id"
    assert "1985" not in bad.text
    anonymous = await httpx.AsyncClient(base_url=protection.url).post(
        "/v1/patients/protection", json={"patient_id": new_patient()}
    )
    assert anonymous.status_code == 401
