"""The local infrastructure really works: Kafka and PostgreSQL answer, behave as configured,
and the launchers clean up after themselves."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from efrikort.infra.kafka import KAFKA_VERSION, KafkaServer, resolve_kafka_jars
from efrikort.infra.paths import repo_root, var_dir
from efrikort.infra.postgres import PostgresServer
from efrikort.infra.stack import InfraEndpoints
from tests.infra_fixtures import free_ports

pytestmark = pytest.mark.integration

# Kafka error code for "this topic does not exist" (UNKNOWN_TOPIC_OR_PARTITION).
UNKNOWN_TOPIC_OR_PARTITION = 3


def _unique_topic(prefix: str) -> str:
    return f"test.{prefix}.{uuid.uuid4().hex[:12]}"


async def _admin(infra: InfraEndpoints) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=10_000, **infra.admin_options()
    )
    await admin.start()
    return admin


async def test_kafka_answers_metadata_request(infra: InfraEndpoints) -> None:
    admin = await _admin(infra)
    try:
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    assert cluster["brokers"], cluster
    assert cluster["cluster_id"]


async def test_topic_created_explicitly_roundtrips_a_message(infra: InfraEndpoints) -> None:
    topic = _unique_topic("roundtrip")
    admin = await _admin(infra)
    try:
        response = await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert [error_code for _, error_code, *_ in response.topic_errors] == [0], response

        producer = AIOKafkaProducer(
            bootstrap_servers=infra.kafka_bootstrap_servers, acks="all", **infra.admin_options()
        )
        await producer.start()
        try:
            metadata = await producer.send_and_wait(topic, key=b"k1", value="hej åäö".encode())
        finally:
            await producer.stop()
        assert metadata.topic == topic

        # A consumer group exercises the __consumer_offsets topic, which only works with the
        # single-node replication settings of the broker.
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=infra.kafka_bootstrap_servers,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **infra.admin_options(),
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=30)
            await consumer.commit()
        finally:
            await consumer.stop()
        assert (record.key, record.value.decode()) == (b"k1", "hej åäö")
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def test_topics_are_not_auto_created(infra: InfraEndpoints) -> None:
    topic = _unique_topic("never-created")
    admin = await _admin(infra)
    try:
        # A metadata request naming the topic is what auto-creates it when that is enabled.
        [described] = await admin.describe_topics([topic])
        assert described["error_code"] == UNKNOWN_TOPIC_OR_PARTITION, described

        producer = AIOKafkaProducer(
            bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=1500, **infra.admin_options()
        )
        await producer.start()
        try:
            with pytest.raises(KafkaError):
                await producer.send_and_wait(topic, b"nobody reads this")
        finally:
            await producer.stop()

        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


async def test_postgres_answers_with_version_14_or_later(infra: InfraEndpoints) -> None:
    conn = await asyncpg.connect(infra.database_url, timeout=10)
    try:
        version = await conn.fetchval("SELECT version()")
        version_num = int(await conn.fetchval("SHOW server_version_num"))
    finally:
        await conn.close()
    assert version.startswith("PostgreSQL "), version
    assert version_num >= 140000, version


def _processes_mentioning(path: Path) -> list[psutil.Process]:
    """Live (non-zombie) processes whose command line refers to ``path``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(str(path) in arg for arg in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime for the local Kafka")
def test_stop_leaves_no_server_process_behind(local_test_dir: Path) -> None:
    kafka_port, controller_port, postgres_port = free_ports(3)
    base = local_test_dir / "lifecycle"
    kafka = KafkaServer(base / "kafka", kafka_port, controller_port)
    postgres = PostgresServer(base / "postgres", postgres_port)
    try:
        kafka.start()
        postgres.start()
        assert kafka.is_running()
        assert postgres.is_running()
        java_pid = int(kafka.pid_file.read_text())
        assert _processes_mentioning(kafka.data_dir), "the broker should show up by its data dir"
        assert _processes_mentioning(postgres.pgdata), "postgres should show up by its data dir"

        # Starting what already runs is a no-op: same process, returns at once.
        started = time.monotonic()
        kafka.start()
        postgres.start()
        assert time.monotonic() - started < 10
        assert int(kafka.pid_file.read_text()) == java_pid
    finally:
        kafka.stop()
        postgres.stop()

    assert not kafka.is_running()
    assert not kafka.pid_file.exists()
    assert not postgres.is_running()
    assert _processes_mentioning(kafka.data_dir) == []
    assert _processes_mentioning(postgres.pgdata) == []
    assert not psutil.pid_exists(java_pid) or psutil.Process(java_pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime for the local Kafka")
def test_second_jar_resolution_runs_no_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo_root()
    first = resolve_kafka_jars(root)  # resolves now unless an earlier test or run already did
    marker = var_dir() / "cache" / "kafka" / KAFKA_VERSION / "resolved.json"
    assert marker.is_file()

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a resolved jar cache must not start processes: {args}")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    started = time.monotonic()
    second = resolve_kafka_jars(root)
    assert time.monotonic() - started < 1
    assert second == first
    assert any(p.name == f"kafka_2.13-{KAFKA_VERSION}.jar" for p in second.iterdir())
