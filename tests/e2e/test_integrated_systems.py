"""Each integrated system on its own topics, the services as processes: the topic a submission comes on
is the system that sent it, whatever the body claims; access opens a system's topics when it approves
it and closes them when it is suspended; and an integrator needs nothing but the file it is handed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from aiokafka.helpers import create_ssl_context

from efrikort import credentials
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import DROP, valid_fee
from tests.kafka_clients import eventually, logs_in, plain_producer, reading
from tests.submissions import EXAMPLE_SYSTEM, new_patient, outcomes_topic, submission, submissions_topic

pytestmark = pytest.mark.e2e

CENTRAL_SUPPORT = {"X-HSA-ID": "SE2321000016-E004", "X-Care-Unit": "SE2321000016-U900"}
"""Central support in the sample directory: may set an integrated system's standing."""
SAMPLE_REGION = "Region Exempel"
"""The sample directory's region, the deployment's (access's default `EFRIKORT_ACCESS_REGION`)."""


def codes(outcome: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["code"], r.get("field")) for r in outcome.get("reasons", [])]


async def test_a_submission_naming_another_system_is_refused_on_the_senders_own_outcome_topic(
    infra: InfraEndpoints, directory: Directory
) -> None:
    claims_other = valid_fee(directory, system_id=directory.id("SYS-X"))
    leaves_it_out = valid_fee(directory, system_id=DROP)
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        for fee in (claims_other, leaves_it_out):
            key = fee["submission_id"].encode()
            await producer.send_and_wait(submissions_topic(directory.system), json.dumps(fee).encode(), key=key)
        for fee in (claims_other, leaves_it_out):
            await outcomes.wait_for(lambda r, fee=fee: r.key == fee["submission_id"].encode())

    [refused] = outcomes.with_key(claims_other["submission_id"])
    assert refused["status"] == "rejected"
    assert codes(refused) == [("system_not_caller", "system_id")]
    [accepted] = outcomes.with_key(leaves_it_out["submission_id"])
    assert accepted["status"] == "accepted", "a submission may leave its system out: the topic names it"


async def test_a_senders_event_id_header_does_not_make_another_submission_a_duplicate(
    infra: InfraEndpoints, directory: Directory
) -> None:
    first, second = valid_fee(directory), valid_fee(directory)
    same_event_id = [("event_id", str(uuid.uuid4()).encode())]
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        for fee in (first, second):
            await producer.send_and_wait(
                submissions_topic(directory.system),
                json.dumps(fee).encode(),
                key=fee["submission_id"].encode(),
                headers=same_event_id,
            )
        for fee in (first, second):
            await outcomes.wait_for(lambda r, fee=fee: r.key == fee["submission_id"].encode())

    for fee in (first, second):
        [outcome] = outcomes.with_key(fee["submission_id"])
        assert outcome["status"] == "accepted"


async def set_standing(access: ServiceProcess, system_id: str, *, suspended: bool) -> None:
    async with httpx.AsyncClient(base_url=access.url, timeout=30) as http:
        body = {"name": "Kassa Test", "certified": True, "suspended": suspended, "approved_regions": [SAMPLE_REGION]}
        response = await http.put(f"/v1/systems/{system_id}", json=body, headers=CENTRAL_SUPPORT)
        assert response.status_code < 300, response.text


async def refusal_of_a_send(options: dict[str, Any], bootstrap: str, topic: str) -> KafkaError | None:
    """What the broker says to one produce: None when it takes it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000, **options)
    await producer.start()
    try:
        probe = {k: v for k, v in submission(patient_id=new_patient()).items() if k != "system_id"}
        await producer.send_and_wait(topic, json.dumps(probe).encode(), key=b"probe")
        return None
    except KafkaError as error:
        return error
    finally:
        await producer.stop()


async def test_a_suspended_systems_next_submission_is_refused_by_the_broker(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    system = f"SE2321000016-T{uuid.uuid4().hex[:8].upper()}-KASSA"
    login = kafka_options(await credentials.issue(infra, system, tmp_path))
    bootstrap, topic = infra.kafka_bootstrap_servers, submissions_topic(system)

    await set_standing(services["access"], system, suspended=False)

    async def taken() -> bool:
        return await refusal_of_a_send(login, bootstrap, topic) is None

    assert await eventually(taken, timeout=30, interval=1), "access did not open the approved system's topic"

    await set_standing(services["access"], system, suspended=True)

    async def refused() -> KafkaError | None:
        return await refusal_of_a_send(login, bootstrap, topic)

    refusal = await eventually(refused, timeout=30, interval=1)
    assert isinstance(refusal, TopicAuthorizationFailedError), refusal


def kafka_options(files: credentials.ClientFiles) -> dict[str, Any]:
    """An integrator's aiokafka settings, from the kcat file exactly as the README maps them."""
    conf = dict(
        line.split("=", 1) for line in files.kcat.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    return {
        "security_protocol": conf["security.protocol"],
        "sasl_mechanism": conf["sasl.mechanisms"],
        "sasl_plain_username": conf["sasl.username"],
        "sasl_plain_password": conf["sasl.password"],
        "ssl_context": create_ssl_context(cafile=conf["ssl.ca.location"]),
    }


async def test_a_sample_system_sends_a_fee_and_reads_its_outcome_with_nothing_but_its_credentials_file(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    # As `efrikort up` issues the sample system's login (keeping the password it has).
    files = await credentials.issue(infra, EXAMPLE_SYSTEM, tmp_path, keep_password=True)
    conf = dict(line.split("=", 1) for line in files.kcat.read_text().splitlines() if "=" in line)
    options = kafka_options(files)
    assert await eventually(lambda: logs_in(conf["bootstrap.servers"], options), timeout=20, interval=0.5)
    fee = {k: v for k, v in submission(patient_id=new_patient()).items() if k != "system_id"}

    consumer = AIOKafkaConsumer(
        f"efrikort.systems.{EXAMPLE_SYSTEM}.fee-outcomes.v1",
        bootstrap_servers=conf["bootstrap.servers"],
        group_id=f"{EXAMPLE_SYSTEM}.e2e-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="latest",
        **options,
    )
    producer = AIOKafkaProducer(bootstrap_servers=conf["bootstrap.servers"], **options)
    await consumer.start()
    await producer.start()
    try:
        await consumer.seek_to_end()
        await producer.send_and_wait(
            f"efrikort.systems.{EXAMPLE_SYSTEM}.fee-submissions.v1",
            json.dumps(fee).encode(),
            key=fee["submission_id"].encode(),
        )

        async def outcome() -> dict[str, Any] | None:
            batch = await consumer.getmany(timeout_ms=500)
            for record in (r for records in batch.values() for r in records):
                if record.key == fee["submission_id"].encode():
                    return dict(json.loads(record.value))
            return None

        answer = await eventually(outcome, timeout=30, interval=0)
        await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    assert answer is not None, "no outcome on the system's own outcome topic"
    assert answer["status"] == "accepted" and answer["amount_due"] == fee["fee_amount"]
