"""A fee travels through every service: submitted on Kafka by an outside system, registered,
assessed, answered on the outcome topic; reaching the ceiling leads to a notice."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import asyncpg
import pytest

from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.kafka_clients import eventually, plain_producer, reading
from tests.log_scan import identity_numbers_in
from tests.submissions import new_patient, outcomes_topic, submission, submissions_topic, without_paid_amount

pytestmark = pytest.mark.e2e

SUBMISSIONS = submissions_topic()
OUTCOMES = outcomes_topic()


def key_of(patient_id: str) -> str:
    return patient_key(patient_id.replace("-", ""), DEV_PATIENT_KEY_SECRET)


async def test_a_fee_published_with_a_plain_client_gets_its_outcome_within_seconds(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    fee = submission(patient_id=new_patient(), visit_date="2025-04-25", fee_amount=300, paid_amount=300)
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        sent = time.monotonic()
        await producer.send_and_wait(SUBMISSIONS, json.dumps(fee).encode(), key=fee["submission_id"].encode())
        [record] = await outcomes.wait_for(lambda r: r.key == fee["submission_id"].encode(), timeout=10)
        took = time.monotonic() - sent

    outcome = json.loads(record.value)
    assert outcome["status"] == "accepted"
    assert outcome["amount_due"] == 300
    assert outcome["protection"] == {
        "period_start": "2025-04-25",
        "ceiling": 1450,
        "sum": 300,
        "remaining": 1150,
        "free_card": None,
    }
    assert took < 5, f"the outcome took {took:.2f}s"


async def test_reaching_the_ceiling_issues_a_free_card_and_records_exactly_one_notice(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    patient = new_patient()
    first_visit = date(2025, 4, 25)
    # No paid_amount: the desk charges what each outcome says is due, so nothing is overcharged.
    fees = [
        without_paid_amount(
            submission(
                patient_id=patient, fee_amount=300, visit_date=(first_visit + timedelta(days=30 * i)).isoformat()
            )
        )
        for i in range(6)
    ]
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        # One after the other, as at a desk: each outcome says what is due given the fees before it.
        for fee in fees:
            key = fee["submission_id"].encode()
            await producer.send_and_wait(SUBMISSIONS, json.dumps(fee).encode(), key=key)
            await outcomes.wait_for(lambda r, key=key: r.key == key)
        due = [outcomes.with_key(fee["submission_id"])[0]["amount_due"] for fee in fees]

    # 300 x 4 = 1200, the fifth visit costs only what is left to 1450, the sixth is free.
    assert due == [300, 300, 300, 300, 250, 0]

    async def notices() -> list[asyncpg.Record]:
        return await db.fetch("SELECT kind, body FROM notifications.notices WHERE patient_key = $1", key_of(patient))

    found = await eventually(notices, timeout=10)
    assert [n["kind"] for n in found] == ["free_card_issued"]
    assert "2025-08-23" in found[0]["body"] and "2026-04-24" in found[0]["body"]


async def test_a_message_that_is_not_json_but_names_its_submission_gets_a_rejection(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(SUBMISSIONS, b'{"submission_id": "broken-1", "fee_amount": 3', key=b"broken-1")
        await outcomes.wait_for(lambda r: r.key == b"broken-1")
    [outcome] = outcomes.with_key("broken-1")
    assert outcome["status"] == "rejected"
    assert [r["code"] for r in outcome["reasons"]] == ["malformed_json"]


async def test_a_message_without_a_recognisable_submission_goes_to_the_dead_letter_topic_and_the_next_is_processed(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    valid = submission(patient_id=new_patient())
    async with (
        reading(infra.kafka_bootstrap_servers, SUBMISSIONS + ".dlq") as dead_letters,
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(SUBMISSIONS, b"\x00\x01 not json at all", key=b"garbage-1")
        await producer.send_and_wait(SUBMISSIONS, json.dumps(valid).encode(), key=valid["submission_id"].encode())
        [dead] = await dead_letters.wait_for(lambda r: r.key == b"garbage-1")
        await outcomes.wait_for(lambda r: r.key == valid["submission_id"].encode())

    headers = {name: value.decode() for name, value in dead.headers}
    assert dead.value == b"\x00\x01 not json at all"
    assert "malformed_json" in headers["dlq_error"]
    assert headers["dlq_original_topic"] == SUBMISSIONS
    assert outcomes.with_key(valid["submission_id"])[0]["status"] == "accepted"


async def test_json_missing_fields_is_rejected_naming_each_missing_field(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    partial = {"submission_id": "partial-1", "system_id": "SE2321000016-SYS1", "patient_id": new_patient()}
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(SUBMISSIONS, json.dumps(partial).encode(), key=b"partial-1")
        await outcomes.wait_for(lambda r: r.key == b"partial-1")
    [outcome] = outcomes.with_key("partial-1")
    assert outcome["status"] == "rejected"
    missing = {r["field"] for r in outcome["reasons"] if r["code"] == "missing_field"}
    assert missing == {"visit_date", "care_unit", "registered_by", "fee_type", "fee_amount"}


async def test_a_header_that_is_not_utf8_does_not_stop_the_consumer(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    fee = submission(patient_id=new_patient())
    key = fee["submission_id"].encode()
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(SUBMISSIONS, json.dumps(fee).encode(), key=key, headers=[("trace", b"\xff\xfe")])
        await outcomes.wait_for(lambda r: r.key == key, timeout=15)
    assert outcomes.with_key(fee["submission_id"])[0]["status"] == "accepted"


async def test_no_service_log_holds_an_identity_number(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    """Patient Data Act: identity numbers stay out of logs. This runs after the other tests of the
    session (pytest keeps file order), so the logs hold everything they made the services do;
    a rejected submission with a bad number is sent too, since its reasons are logged nowhere."""
    bad = submission(patient_id="19850412-1231", submission_id="bad-number-1")
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(SUBMISSIONS, json.dumps(bad).encode(), key=b"bad-number-1")
        await outcomes.wait_for(lambda r: r.key == b"bad-number-1")
    assert b"19850412" not in outcomes.seen[-1].value

    folder = next(iter(services.values())).log_path.parent
    logs = set(folder.glob("*.log"))
    found = {path.name: identity_numbers_in(path.read_text(errors="replace")) for path in logs}
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert all(path.stat().st_size > 0 for path in logs), "a service wrote no log at all: nothing was checked"
