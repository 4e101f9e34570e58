"""A service killed after a message's effect is committed but before its offset is, then restarted,
receives the message again and leaves exactly one effect (inbox + outbox, at-least-once delivery)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.request

import asyncpg
import pytest

from contracts.topics import SYSTEM_FEE_SUBMISSIONS
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.kafka_clients import plain_producer, reading
from tests.submissions import new_patient, outcomes_topic, submission, submissions_topic

pytestmark = pytest.mark.e2e

SUBMISSIONS = submissions_topic()
OUTCOMES = outcomes_topic()
CONSUMED = SYSTEM_FEE_SUBMISSIONS.name
"""How registration's consumer names what it reads (every system's submissions): in metrics, and for the fault."""


def duplicates_seen(service: ServiceProcess, topic: str) -> float:
    with urllib.request.urlopen(f"{service.url}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf'efrikort_duplicate_messages_total{{topic="{re.escape(topic)}"}} ([0-9.]+)', text)
    return float(match.group(1)) if match else 0.0


async def test_sigkill_between_effect_and_offset_commit_leaves_exactly_one_effect(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], service_env: dict[str, str], db: asyncpg.Connection
) -> None:
    registration = services["registration"]
    await asyncio.to_thread(registration.stop)
    # Only the submission's effect: registration also takes in grants and outcomes, which must not kill it first.
    own_env = {**service_env, **infra.service_env("registration")}
    faulty_env = {**own_env, "EFRIKORT_FAULT_KILL_AFTER_EFFECT": "true", "EFRIKORT_FAULT_KILL_TOPIC": CONSUMED}
    doomed = ServiceProcess(
        "registration", registration.port, faulty_env, registration.log_path.with_name("registration-killed.log")
    )
    doomed.start()
    await asyncio.to_thread(doomed.wait_ready, 120)

    fee = submission(patient_id=new_patient())
    key = fee["submission_id"].encode()
    async with (
        reading(infra.kafka_bootstrap_servers, OUTCOMES) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(SUBMISSIONS, json.dumps(fee).encode(), key=key)
        assert await asyncio.to_thread(doomed.wait_exit, 30) == -signal.SIGKILL

        # The effect is committed; the Kafka offset is not.
        count = "SELECT count(*) FROM registration.fee_versions WHERE submission_id = $1"
        assert await db.fetchval(count, fee["submission_id"]) == 1

        restarted = ServiceProcess("registration", registration.port, own_env, registration.log_path)
        services["registration"] = restarted
        restarted.start()
        await asyncio.to_thread(restarted.wait_ready, 120)
        await outcomes.wait_for(lambda r: r.key == key, timeout=30)
        await outcomes.drain(3)

    assert duplicates_seen(restarted, CONSUMED) >= 1, "the message was not delivered again after the kill"
    assert await db.fetchval(count, fee["submission_id"]) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM registration.submissions WHERE submission_id = $1", fee["submission_id"]
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM protection.fees WHERE submission_id = $1", fee["submission_id"]) == 1
    assert len(outcomes.with_key(fee["submission_id"])) == 1
