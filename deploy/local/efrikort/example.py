"""Sending one fee submission the way an integrated system does, and reading its outcome."""

from __future__ import annotations

import json
import uuid
from datetime import date

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.topics import FEE_OUTCOMES, FEE_SUBMISSIONS
from efrikort.kafka_principals import admin_client_options

SUBMISSIONS = FEE_SUBMISSIONS.name
OUTCOMES = FEE_OUTCOMES.name


def example_submission() -> dict[str, object]:
    return {
        "submission_id": str(uuid.uuid4()),
        "system_id": "SE2321000016-SYS1",
        "patient_id": "19850412-1230",
        "visit_date": date.today().isoformat(),
        "care_unit": "SE2321000016-U001",
        "registered_by": "SE2321000016-E001",
        "fee_type": "doctor_visit",
        "fee_amount": 300,
        "paid_amount": 300,
        "source": "visit",
    }


async def send_example_fee(bootstrap: str, submission: dict[str, object] | None, timeout_s: float = 30) -> int:
    submission = submission or example_submission()
    submission_id = str(submission["submission_id"])
    consumer = AIOKafkaConsumer(
        OUTCOMES, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest", **admin_client_options()
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **admin_client_options())
    await producer.start()
    try:
        await consumer.seek_to_end()
        await producer.send_and_wait(SUBMISSIONS, json.dumps(submission).encode(), key=submission_id.encode())
        print("sent:   ", json.dumps(submission))
        deadline = timeout_s
        while deadline > 0:
            batch = await consumer.getmany(timeout_ms=500)
            deadline -= 0.5
            for records in batch.values():
                for record in records:
                    if record.key == submission_id.encode():
                        print("outcome:", record.value.decode())
                        return 0
        print(f"no outcome within {timeout_s:.0f}s")
        return 1
    finally:
        await producer.stop()
        await consumer.stop()
