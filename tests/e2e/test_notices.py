"""End to end through Kafka: fees that reach the ceiling lead to exactly one notice in the patient's
digital mailbox, a real HTTP receiver started by the test."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import date, timedelta

import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.kafka_clients import eventually, plain_producer, reading
from tests.notice_receivers import http_receiver
from tests.stack_fixtures import NOTICE_WEBHOOK_SECRET
from tests.submissions import new_patient, outcomes_topic, submission, submissions_topic, without_paid_amount

pytestmark = pytest.mark.e2e


async def test_fees_that_reach_the_ceiling_lead_to_exactly_one_notice_in_the_patients_mailbox(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    patient = new_patient()
    path = f"/mailbox/{uuid.uuid4().hex}"
    with http_receiver(NOTICE_WEBHOOK_SECRET) as mailbox:
        async with httpx.AsyncClient(base_url=services["notifications"].url) as notifications:
            registered = await notifications.put(
                "/v1/patients/contact",
                headers={"X-HSA-ID": "SE2321000016-E001"},
                json={"patient_id": patient, "channel": "webhook", "webhook_url": mailbox.url(path), "language": "sv"},
            )
            assert registered.status_code == 200, registered.text

        first_visit = date(2025, 4, 25)
        fees = [
            # No paid_amount: the desk charges what is due, so the only notice is the free card's.
            without_paid_amount(
                submission(
                    patient_id=patient, visit_date=(first_visit + timedelta(days=30 * i)).isoformat(), fee_amount=300
                )
            )
            for i in range(6)
        ]
        async with (
            reading(infra.kafka_bootstrap_servers, outcomes_topic()) as outcomes,
            plain_producer(infra.kafka_bootstrap_servers) as producer,
        ):
            for fee in fees:
                key = fee["submission_id"].encode()
                await producer.send_and_wait(submissions_topic(), json.dumps(fee).encode(), key=key)
                await outcomes.wait_for(lambda r, key=key: r.key == key)

        async def delivered() -> list[object]:
            return list(mailbox.delivered(path))

        assert await eventually(delivered, timeout=60), "no notice reached the mailbox"
        await asyncio.sleep(8)  # a second notice would have arrived by now
        [notice] = mailbox.delivered(path)

    assert len(mailbox.at(path)) == 1
    body = notice.json()
    assert body["kind"] == "free_card_issued"
    assert body["subject"] == "Du har fått frikort"
    # Reached at the fifth visit (23 August 2025), valid to the day before the anniversary.
    assert "2025-08-23" in body["text"] and "2026-04-24" in body["text"]
    assert patient not in notice.body.decode() and patient.replace("-", "") not in notice.body.decode()
    timestamp = notice.headers["X-Efrikort-Timestamp"]
    expected = hmac.new(NOTICE_WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + notice.body, hashlib.sha256)
    assert notice.headers["X-Efrikort-Signature"] == f"sha256={expected.hexdigest()}"


async def test_a_control_character_in_contact_details_is_refused_naming_the_field_and_logged_nowhere(
    services: dict[str, ServiceProcess],
) -> None:
    """PostgreSQL refuses NUL in text; that must be a 422 naming the field, not a 500 whose log line holds
    every value of the statement."""
    tag = uuid.uuid4().hex[:10]
    details = {
        "patient_id": new_patient(),
        "channel": "letter",
        "name": f"Testa Nulsson\x00{tag}",
        "email": f"nul-{tag}@patient.test",
        "postal_address": [f"Nulgatan {tag}", "123 45 Provstad"],
    }
    async with httpx.AsyncClient(base_url=services["notifications"].url) as notifications:
        answer = await notifications.put(
            "/v1/patients/contact", headers={"X-HSA-ID": "SE2321000016-E001"}, json=details
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "name"
    assert tag not in answer.text
    await asyncio.sleep(0.5)
    log = services["notifications"].log_path.read_bytes()
    assert tag.encode() not in log
