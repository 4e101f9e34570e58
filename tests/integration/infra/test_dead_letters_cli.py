"""`efrikort dlq list|show|replay` against the session's Kafka and PostgreSQL, on dead letters written
with the runtime's own headers (a truncated one made by `runtime.consumers.truncated_dead_letter`)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

from efrikort.cli import main
from efrikort.dead_letters import REPLAYED_FROM_HEADER
from efrikort.infra.stack import InfraEndpoints
from runtime.consumers import DeadLetter, truncated_dead_letter

IDENTITY_NUMBER = "19850412-1230"
"""In the dead letters' values: `show` must not print it unless asked to."""


def about(topic: str, offset: int) -> dict[str, str]:
    """The `dlq_*` headers as `MessageProcessor.dead_letter` writes them."""
    return {
        "dlq_error": "fee_amount: Input should be a valid integer",
        "dlq_error_type": "InvalidMessage",
        "dlq_consumer_group": "protection",
        "dlq_original_topic": topic,
        "dlq_original_partition": "0",
        "dlq_original_offset": str(offset),
        "dlq_attempts": "1",
        "dlq_failed_at": "2026-12-01T12:00:00+00:00",
    }


def letter(topic: str, offset: int) -> DeadLetter:
    value = json.dumps({"patient_id": IDENTITY_NUMBER, "n": offset}).encode()
    headers = {"event_id": str(uuid.uuid4()), "event_type": "FeeRegistered", "correlation_id": f"c-{offset}"}
    return DeadLetter(f"key-{offset}".encode(), value, headers, about(topic, offset))


@pytest.fixture
async def dead_lettered(infra: InfraEndpoints, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A topic and its dead-letter topic holding three dead letters, the third truncated; the CLI pointed at
    the session's servers as their admin user."""
    topic = f"efrikort.test-dlq-{uuid.uuid4().hex[:10]}.v1"
    async with infra.admin_client() as admin:
        await admin.create_topics([NewTopic(topic, 1, 1), NewTopic(f"{topic}.dlq", 1, 1)])
    letters = [letter(topic, 0), letter(topic, 1)]
    whole = letter(topic, 2)
    letters.append(truncated_dead_letter(whole, ValueError("MessageSizeTooLargeError"), 10))
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, **infra.admin_options())
    await producer.start()
    try:
        for dead in letters:
            headers = [(name, value.encode()) for name, value in {**dead.original_headers, **dead.about}.items()]
            await producer.send_and_wait(f"{topic}.dlq", dead.value, key=dead.key, headers=headers)
    finally:
        await producer.stop()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.kafka_bootstrap_servers)
    monkeypatch.setenv("DATABASE_URL", infra.database_url)
    yield topic


async def on_topic(infra: InfraEndpoints, topic: str) -> list[tuple[bytes | None, bytes, dict[str, str]]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers, **infra.admin_options())
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        records = []
        while len(records) < end:
            records += (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
        return [(r.key, r.value or b"", {n: v.decode() for n, v in r.headers}) for r in records]
    finally:
        await consumer.stop()


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command as an operator runs it (in a thread: it runs its own event loop)."""
    code = await asyncio.to_thread(main, ["dlq", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_list_counts_each_dead_letter_topic_and_lists_one_topics_letters(
    dead_lettered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "list")
    assert code == 0
    assert any(line.split() == ["3", "0", f"{dead_lettered}.dlq"] for line in out.splitlines()), out

    code, out, _ = await run(capsys, "list", f"{dead_lettered}.dlq")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3, out
    assert lines[0].startswith("0:0 ") and f"from {dead_lettered}/0/0" in lines[0] and "InvalidMessage" in lines[0]
    assert "TRUNCATED" in lines[2] and "TRUNCATED" not in lines[0]
    assert IDENTITY_NUMBER not in out


async def test_show_prints_why_and_from_where_but_the_value_only_when_asked(
    dead_lettered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "show", f"{dead_lettered}.dlq", "0:2")
    assert code == 0
    for expected in (
        f"dlq_original_topic: {dead_lettered}",
        "dlq_original_partition: 0",
        "dlq_original_offset: 2",
        "dlq_error: fee_amount: Input should be a valid integer",
        "dlq_truncated: true",
        "dlq_original_value_bytes: ",
        "dlq_original_value_sha256: ",
        "dlq_write_error: ValueError",
        "header correlation_id: c-2",
        "value: 10 bytes (not shown",
    ):
        assert expected in out, (expected, out)
    code, out, _ = await run(capsys, "show", f"{dead_lettered}.dlq", "0:0")
    assert code == 0 and "dlq_original_offset: 0" in out and "header event_type: FeeRegistered" in out, out
    assert IDENTITY_NUMBER not in out

    code, out, err = await run(capsys, "show", f"{dead_lettered}.dlq", "0:0", "--value")
    assert code == 0
    assert IDENTITY_NUMBER in out
    assert "may hold an identity number" in err


async def test_replay_sends_a_dead_letter_back_once(
    infra: InfraEndpoints, dead_lettered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "replay", f"{dead_lettered}.dlq", "0:1")
    assert code == 0 and "0/1: replayed to" in out, out

    code, out, _ = await run(capsys, "replay", f"{dead_lettered}.dlq", "0:1")
    assert code == 0 and "already replayed" in out, out

    replayed = await on_topic(infra, dead_lettered)
    assert len(replayed) == 1, "replayed twice"
    key, value, headers = replayed[0]
    assert key == b"key-1" and json.loads(value)["n"] == 1
    assert headers["correlation_id"] == "c-1" and headers["event_type"] == "FeeRegistered"
    assert headers[REPLAYED_FROM_HEADER] == f"{dead_lettered}.dlq/0/1"
    assert not any(name.startswith("dlq_") and name != REPLAYED_FROM_HEADER for name in headers)

    code, out, _ = await run(capsys, "list")
    assert any(line.split() == ["3", "1", f"{dead_lettered}.dlq"] for line in out.splitlines()), out


async def test_a_truncated_dead_letter_is_never_replayed(
    infra: InfraEndpoints, dead_lettered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "replay", f"{dead_lettered}.dlq", "0:2")
    assert code == 1
    assert "truncated" in out and f"the whole message is on {dead_lettered} partition 0 offset 2" in out, out
    assert await on_topic(infra, dead_lettered) == []

    # All: the whole ones go back, the truncated one is named and stays.
    code, out, _ = await run(capsys, "replay", f"{dead_lettered}.dlq", "--all")
    assert code == 0
    assert "0/0: replayed" in out and "0/1: replayed" in out and "0/2: truncated" in out, out
    assert sorted(key for key, _, _ in await on_topic(infra, dead_lettered)) == [b"key-0", b"key-1"]


async def test_replay_is_refused_to_a_login_that_is_not_the_admin(
    infra: InfraEndpoints, dead_lettered: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert infra.kafka_credentials is not None
    registration = infra.kafka_credentials.get_or_create("registration")
    monkeypatch.setenv("EFRIKORT_KAFKA_SASL_USERNAME", registration.username)
    monkeypatch.setenv("EFRIKORT_KAFKA_SASL_PASSWORD", registration.password)

    code, _, err = await run(capsys, "replay", f"{dead_lettered}.dlq", "--all")

    assert code != 0 and f"no topic {dead_lettered}.dlq" in err, err
    assert await on_topic(infra, dead_lettered) == []


async def test_replay_needs_a_dead_letter_or_all(dead_lettered: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run(capsys, "replay", f"{dead_lettered}.dlq")
    assert code == 2 and "--all" in err
    code, _, err = await run(capsys, "show", dead_lettered, "0:0")
    assert code == 2 and "not a dead-letter topic" in err
