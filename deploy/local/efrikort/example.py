"""Sending one fee submission the way an integrated system does, and reading its outcome.

As the sample's system `SE2321000016-SYS1`, with nothing but the kcat configuration its operator
handed it (`efrikort up` issues it): its own login, its own submissions topic, its own outcome topic.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from contracts.topics import SYSTEM_FEE_OUTCOMES, SYSTEM_FEE_SUBMISSIONS

EXAMPLE_SYSTEM = "SE2321000016-SYS1"


@dataclass(frozen=True)
class SystemLogin:
    """What an integrated system's client needs, read from the kcat file it was handed."""

    system_id: str
    bootstrap_servers: str
    options: dict[str, Any]
    """aiokafka's keyword arguments: SASL_SSL, SCRAM-SHA-512, the login, the CA."""

    @classmethod
    def from_kcat_file(cls, path: Path) -> SystemLogin:
        settings = dict(
            line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
        )
        options = {
            "security_protocol": settings["security.protocol"],
            "sasl_mechanism": settings["sasl.mechanisms"],
            "sasl_plain_username": settings["sasl.username"],
            "sasl_plain_password": settings["sasl.password"],
            "ssl_context": create_ssl_context(cafile=settings["ssl.ca.location"]),
        }
        return cls(settings["sasl.username"], settings["bootstrap.servers"], options)


def example_submission() -> dict[str, object]:
    return {
        "submission_id": str(uuid.uuid4()),
        "system_id": EXAMPLE_SYSTEM,
        "patient_id": "19850412-1230",
        "visit_date": date.today().isoformat(),
        "care_unit": "SE2321000016-U001",
        "registered_by": "SE2321000016-E001",
        "fee_type": "doctor_visit",
        "fee_amount": 300,
        "paid_amount": 300,
        "source": "visit",
    }


async def send_example_fee(login: SystemLogin, submission: dict[str, object] | None, timeout_s: float = 30) -> int:
    """Publish the submission on the system's own topic and print the outcome from its own outcome topic."""
    submission = submission or example_submission()
    print("sent:   ", json.dumps(submission))
    outcome = await exchange(login, submission, timeout_s)
    if outcome is None:
        print(f"no outcome within {timeout_s:.0f}s")
        return 1
    print("outcome:", outcome.decode())
    return 0


async def exchange(login: SystemLogin, submission: dict[str, object], timeout_s: float = 30) -> bytes | None:
    """Publish the submission on the system's own topic; its outcome from its own outcome topic, as sent
    (None when none came within `timeout_s`)."""
    submission_id = str(submission["submission_id"])
    outcomes = SYSTEM_FEE_OUTCOMES.of(login.system_id).name
    # No consumer group: one outcome is read from where the topic ends now, nothing to commit.
    consumer = AIOKafkaConsumer(
        outcomes, bootstrap_servers=login.bootstrap_servers, group_id=None, auto_offset_reset="latest", **login.options
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=login.bootstrap_servers, **login.options)
    await producer.start()
    try:
        await consumer.seek_to_end()
        await producer.send_and_wait(
            SYSTEM_FEE_SUBMISSIONS.of(login.system_id).name,
            json.dumps(submission).encode(),
            key=submission_id.encode(),
        )
        deadline = timeout_s
        while deadline > 0:
            batch = await consumer.getmany(timeout_ms=500)
            deadline -= 0.5
            for records in batch.values():
                for record in records:
                    if record.key == submission_id.encode():
                        return bytes(record.value)
        return None
    finally:
        await producer.stop()
        await consumer.stop()
