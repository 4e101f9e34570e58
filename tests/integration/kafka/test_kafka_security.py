"""The broker is closed to everyone without the right to pass: each service is a principal of its own,
holding exactly the ACLs its declarations give it, and nothing else gets in."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from contracts.topics import ACCESS_GRANTS, FEE_SUBMISSIONS, FEES, PATIENT_MEMBERSHIP
from efrikort import credentials
from efrikort.credentials import ClientFiles
from efrikort.infra.credentials import Credential
from efrikort.infra.kafka import client_options
from efrikort.infra.stack import InfraEndpoints
from efrikort.kafka_principals import wanted_acls
from runtime.kafka_admin import describe_acls
from runtime.topics import ensure_topics

pytestmark = pytest.mark.integration


def as_principal(infra: InfraEndpoints, name: str) -> dict[str, object]:
    assert infra.kafka_credentials is not None, "these tests need the local secured broker"
    credential = infra.kafka_credentials.get(name)
    assert credential is not None, f"{name} was not provisioned"
    return client_options(credential, infra.kafka_ca_file or "")


async def can_write(infra: InfraEndpoints, options: dict[str, object], topic: str) -> bool:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=5000, **options)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps({"probe": True}).encode(), key=b"probe")
        return True
    except KafkaError:
        return False
    finally:
        await producer.stop()


async def can_read(infra: InfraEndpoints, options: dict[str, object], topic: str, group: str) -> bool:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        request_timeout_ms=5000,
        **options,
    )
    try:
        await consumer.start()
        await asyncio.wait_for(consumer.getmany(timeout_ms=2000), timeout=15)
        await consumer.commit()
        return True
    except (KafkaError, TimeoutError):
        return False
    finally:
        await consumer.stop()


@pytest.fixture(scope="module", autouse=True)
async def topics(infra: InfraEndpoints) -> None:
    await ensure_topics(
        infra.kafka_bootstrap_servers,
        [FEES, FEE_SUBMISSIONS, ACCESS_GRANTS, PATIENT_MEMBERSHIP],
        client_options=infra.admin_options(),
    )


async def test_the_broker_holds_exactly_the_acls_the_services_declarations_give(infra: InfraEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, **infra.admin_options())
    await admin.start()
    try:
        for principal, wanted in wanted_acls().items():
            assert await describe_acls(admin, principal) == wanted, principal
    finally:
        await admin.close()


async def test_a_client_without_credentials_cannot_connect(infra: InfraEndpoints) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=3000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(producer.start(), timeout=20)
    await producer.stop()


async def test_a_client_with_a_wrong_password_cannot_connect(infra: InfraEndpoints) -> None:
    options = client_options(Credential("registration", "not-the-password"), infra.kafka_ca_file or "")
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=3000, **options)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(producer.start(), timeout=20)
    await producer.stop()


async def test_a_client_that_does_not_trust_the_broker_certificate_does_not_talk_to_it(infra: InfraEndpoints) -> None:
    options = {**as_principal(infra, "registration"), "ssl_context": ssl.create_default_context()}
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=3000, **options)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(producer.start(), timeout=20)
    await producer.stop()


async def test_only_registration_writes_fee_events(infra: InfraEndpoints) -> None:
    assert await can_write(infra, as_principal(infra, "registration"), FEES.name)
    for other in ("protection", "access", "notifications"):
        assert not await can_write(infra, as_principal(infra, other), FEES.name), other


async def test_only_access_writes_the_grants_and_the_patient_membership(infra: InfraEndpoints) -> None:
    for topic in (ACCESS_GRANTS.name, PATIENT_MEMBERSHIP.name):
        for other in ("registration", "protection", "notifications"):
            assert not await can_write(infra, as_principal(infra, other), topic), (other, topic)


async def test_a_service_cannot_read_a_topic_it_does_not_consume(infra: InfraEndpoints) -> None:
    group = f"notifications-probe-{uuid.uuid4().hex[:8]}"
    assert not await can_read(infra, as_principal(infra, "notifications"), FEE_SUBMISSIONS.name, group)


async def test_a_service_cannot_join_another_services_consumer_group(infra: InfraEndpoints) -> None:
    # Protection may read the fee events, but not as a member of registration's groups.
    group = f"registration-probe-{uuid.uuid4().hex[:8]}"
    assert await can_read(infra, as_principal(infra, "protection"), FEES.name, f"protection-probe-{uuid.uuid4().hex}")
    assert not await can_read(infra, as_principal(infra, "protection"), FEES.name, group)


async def can_connect(infra: InfraEndpoints, credential: Credential) -> bool:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        request_timeout_ms=3000,
        **client_options(credential, infra.kafka_ca_file or ""),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout=20)
        return True
    except (KafkaError, TimeoutError):
        return False
    finally:
        await admin.close()


def login_in(files: ClientFiles) -> Credential:
    """The login as an integrator reads it from the kcat file they were handed."""
    settings = dict(line.split("=", 1) for line in files.kcat.read_text().splitlines() if "=" in line)
    return Credential(settings["sasl.username"], settings["sasl.password"])


async def test_an_issued_login_works_until_it_is_rotated_or_revoked(infra: InfraEndpoints, tmp_path: Path) -> None:
    system = f"SE2321000016-T{uuid.uuid4().hex[:8].upper()}"
    first = login_in(await credentials.issue(infra, system, tmp_path))
    assert await can_connect(infra, first)

    second = login_in(await credentials.issue(infra, system, tmp_path))
    assert second.password != first.password
    assert not await can_connect(infra, first), "the rotated-out password still logs in"
    assert await can_connect(infra, second)

    await credentials.revoke(infra, system, tmp_path)
    assert not await can_connect(infra, second), "a revoked login still logs in"
    assert not credentials.files_of(system, tmp_path).kcat.exists()
