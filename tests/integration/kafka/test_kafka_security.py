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

from access import system_topics
from contracts.topics import ACCESS_GRANTS, FEES, INTERNAL_FEE_OUTCOMES, PATIENT_MEMBERSHIP
from efrikort import credentials
from efrikort.credentials import ClientFiles
from efrikort.infra.credentials import Credential
from efrikort.infra.kafka import client_options
from efrikort.infra.stack import InfraEndpoints
from efrikort.kafka_principals import is_on_system_topic, wanted_acls
from runtime.kafka_admin import describe_acls
from runtime.topics import ensure_topics
from tests.kafka_clients import eventually

pytestmark = pytest.mark.integration


def as_principal(infra: InfraEndpoints, name: str) -> dict[str, object]:
    assert infra.kafka_credentials is not None, "these tests need the local secured broker"
    credential = infra.kafka_credentials.get(name)
    assert credential is not None, f"{name} was not provisioned"
    return client_options(credential, infra.kafka_ca_file or "")


PROBE = json.dumps({"probe": True}).encode()


async def can_write(infra: InfraEndpoints, options: dict[str, object], topic: str, value: bytes | None = PROBE) -> bool:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=5000, **options)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"probe")
        return True
    except KafkaError:
        return False
    finally:
        await producer.stop()


async def writable_soon(infra: InfraEndpoints, options: dict[str, object], topic: str) -> bool:
    """The write is taken once the broker applies what the controller committed: a new ACL lags a moment."""
    return bool(await eventually(lambda: can_write(infra, options, topic), timeout=30, interval=0.5))


async def refused_soon(infra: InfraEndpoints, options: dict[str, object], topic: str) -> bool:
    """The write is refused once the broker applies a deleted ACL (it lags a moment too)."""

    async def refused() -> bool:
        return not await can_write(infra, options, topic)

    return bool(await eventually(refused, timeout=30, interval=0.5))


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
        [FEES, INTERNAL_FEE_OUTCOMES, ACCESS_GRANTS, PATIENT_MEMBERSHIP],
        client_options=infra.admin_options(),
    )


async def test_the_broker_holds_exactly_the_acls_the_services_declarations_give(infra: InfraEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, **infra.admin_options())
    await admin.start()
    try:
        for principal, wanted in wanted_acls().items():
            # The rights on the integrated systems' topics are access's to give, per system (tested below).
            held = {acl for acl in await describe_acls(admin, principal) if not is_on_system_topic(acl)}
            assert held == wanted, principal
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


async def test_access_is_the_one_principal_that_writes_the_grants(infra: InfraEndpoints, tmp_path: Path) -> None:
    # A tombstone under a key no grant has: what access writes here changes no service's read model.
    assert await can_write(infra, as_principal(infra, "access"), ACCESS_GRANTS.name, value=None)
    others = {name: as_principal(infra, name) for name in ("registration", "protection", "notifications")}
    others["an integrated system"] = await opened_system(infra, tmp_path, new_system_id())
    for name, options in others.items():
        assert not await can_write(infra, options, ACCESS_GRANTS.name, value=None), name


async def test_a_service_cannot_read_a_topic_it_does_not_consume(infra: InfraEndpoints) -> None:
    group = f"notifications-probe-{uuid.uuid4().hex[:8]}"
    assert not await can_read(infra, as_principal(infra, "notifications"), INTERNAL_FEE_OUTCOMES.name, group)


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


# --- integrated systems ----------------------------------------------------------------------------


def new_system_id(like: str | None = None) -> str:
    return like or f"SE2321000016-T{uuid.uuid4().hex[:8].upper()}"


async def opened_system(infra: InfraEndpoints, tmp_path: Path, system_id: str) -> dict[str, object]:
    """A system approved as access approves one (its topics and ACLs), and its login's client options."""
    async with infra.admin_client() as admin:
        await system_topics.open_system(
            admin,
            system_id,
            bootstrap_servers=infra.kafka_bootstrap_servers,
            client_options=infra.admin_options(),
        )
    return await issued_login(infra, tmp_path, system_id)


async def issued_login(infra: InfraEndpoints, tmp_path: Path, system_id: str) -> dict[str, object]:
    """The system's new login, once the broker takes it (a new SCRAM credential may lag a moment)."""
    login = login_in(await credentials.issue(infra, system_id, tmp_path))

    async def taken() -> bool:
        return await can_connect(infra, login)

    assert await eventually(taken, timeout=20, interval=0.5), "the issued login never worked"
    return client_options(login, infra.kafka_ca_file or "")


async def test_an_integrated_system_writes_its_own_submissions_and_nothing_else(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    system, other = new_system_id(), new_system_id()
    as_system = await opened_system(infra, tmp_path, system)
    await opened_system(infra, tmp_path, other)

    assert await writable_soon(infra, as_system, system_topics.topics_of(system)[0].name)
    for topic in (
        system_topics.topics_of(other)[0].name,  # another system's submissions
        system_topics.topics_of(system)[2].name,  # its own outcomes: e-frikort's to write
        FEES.name,
        ACCESS_GRANTS.name,
        PATIENT_MEMBERSHIP.name,
        INTERNAL_FEE_OUTCOMES.name,
    ):
        assert not await can_write(infra, as_system, topic), topic


async def test_an_integrated_system_reads_its_own_outcomes_and_no_other_systems(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    system, other = new_system_id(), new_system_id()
    as_system = await opened_system(infra, tmp_path, system)
    await opened_system(infra, tmp_path, other)
    own_group = f"{system}.outcomes"

    assert await can_read(infra, as_system, system_topics.topics_of(system)[2].name, own_group)
    assert not await can_read(infra, as_system, system_topics.topics_of(other)[2].name, own_group)
    assert not await can_read(infra, as_system, INTERNAL_FEE_OUTCOMES.name, own_group)


async def test_an_integrated_system_cannot_join_another_principals_consumer_group(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    system = new_system_id()
    longer = system + "0"  # SYS1 and SYS10: a group prefix without the dot would give SYS1 both
    as_system = await opened_system(infra, tmp_path, system)
    await opened_system(infra, tmp_path, longer)
    outcomes = system_topics.topics_of(system)[2].name

    for group in (f"{longer}.outcomes", "registration-fee-outcomes", "protection", f"{system}-no-dot"):
        assert not await can_read(infra, as_system, outcomes, group), group


async def test_access_may_open_and_close_a_systems_topics_and_a_closed_system_writes_nothing(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    system = new_system_id()
    as_system = await issued_login(infra, tmp_path, system)
    as_access = as_principal(infra, "access")
    submissions = system_topics.topics_of(system)[0].name
    access_admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, **as_access)
    await access_admin.start()
    try:
        await system_topics.open_system(
            access_admin, system, bootstrap_servers=infra.kafka_bootstrap_servers, client_options=as_access
        )
        assert await writable_soon(infra, as_system, submissions)
        await system_topics.close_system(access_admin, system)
        assert await refused_soon(infra, as_system, submissions)
    finally:
        await access_admin.close()
