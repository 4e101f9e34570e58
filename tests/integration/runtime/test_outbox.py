"""The outbox: an event is published if and only if the transaction that emitted it commits, once,
with its envelope in the headers, in the order of writing per key; and it waits in the outbox for
as long as Kafka cannot take it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import OutOfOrderSequenceNumber
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import Envelope
from contracts.topics import Topic
from efrikort.infra.stack import InfraEndpoints
from runtime import database, logs, outbox
from runtime.consumers import InvalidMessage
from runtime.outbox import OutboxRelay
from runtime.partitioner import default_partitioner
from runtime.settings import ServiceSettings
from tests.infra_fixtures import free_ports
from tests.integration.runtime.harness import (
    Attempt,
    Noted,
    TinyService,
    headers_of,
    metric,
    settings_for,
    unique_service_name,
    write_migrations,
)
from tests.kafka_clients import eventually, reading

pytestmark = pytest.mark.integration

# Small batches, so that fifty events of one key leave in several batches and the order test
# covers the boundaries between them too.
BATCH_SIZE = 7


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    return {"outbox_batch_size": BATCH_SIZE}


def payloads(records: list[ConsumerRecord[bytes, bytes]], key: bytes) -> list[dict[str, object]]:
    return [json.loads(r.value)["payload"] for r in records if r.key == key]


async def test_an_event_emitted_in_a_committed_transaction_is_published_once_with_its_envelope(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def emits_one(attempt: Attempt) -> None:
        await attempt.record_effect()
        await attempt.emit()

    cause = str(uuid.uuid4())
    correlation = f"corr-{uuid.uuid4().hex}"
    sent = await service.send(emits_one, headers={"event_id": cause, "correlation_id": correlation})

    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        [record] = await out.wait_for(lambda r: r.key == sent.key)
        # Long enough for a second copy to arrive, were the relay to publish one.
        await out.drain(1.0)
    assert len([r for r in out.seen if r.key == sent.key]) == 1

    body = json.loads(record.value)
    headers = headers_of(record)
    assert headers["event_id"] == body["event_id"]
    assert headers["event_type"] == body["event_type"] == "RtTestNoted"
    assert headers["schema_version"] == str(body["schema_version"]) == "1"
    # The trail back: same business request, caused by the event the handler consumed.
    assert headers["correlation_id"] == body["correlation_id"] == correlation
    assert headers["causation_id"] == body["causation_id"] == cause
    assert headers["producer"] == body["producer"] == service.name
    assert body["payload"] == {"message_id": sent.message_id, "seq": 0, "attempt": 1}

    async def outbox_emptied() -> bool:
        return await service.outbox_size() == 0

    assert await eventually(outbox_emptied, timeout=5, interval=0.05), "published events stay in the outbox"


async def test_events_emitted_by_a_failed_attempt_are_discarded_and_those_of_the_retry_published(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def emits_then_fails_once(attempt: Attempt) -> None:
        await attempt.emit(seq=0)
        await attempt.emit(seq=1)
        if attempt.number == 1:
            raise ConnectionResetError("database went away after the emit")

    published = {"topic": service.output.name, "event_type": "RtTestNoted"}
    before = await metric(http, "efrikort_messages_published_total", **published)
    sent = await service.send(emits_then_fails_once)

    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        await out.wait_for(lambda r: r.key == sent.key, count=2)
        await out.drain(0.5)
    # Only the second attempt's two events: the first attempt's rolled back with its transaction.
    assert payloads(out.seen, sent.key) == [
        {"message_id": sent.message_id, "seq": 0, "attempt": 2},
        {"message_id": sent.message_id, "seq": 1, "attempt": 2},
    ]

    # And only they are counted, by event type: the counts operators read as business numbers.
    async def counted() -> float:
        return await metric(http, "efrikort_messages_published_total", **published) - before

    assert await eventually(counted, timeout=5, interval=0.05) == 2


async def test_events_emitted_by_a_message_that_ends_in_the_dead_letter_topic_are_never_published(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def emits_then_rejects(attempt: Attempt) -> None:
        await attempt.emit()
        raise InvalidMessage("rejected after emitting")

    async def emits(attempt: Attempt) -> None:
        await attempt.emit()

    key = f"patient-{uuid.uuid4().hex}"
    rejected = await service.send(emits_then_rejects, key=key)
    # Same key, so the same output partition: once its event is out, the rejected one's would be
    # out too (the relay keeps the order of writing), had it been written.
    accepted = await service.send(emits, key=key)

    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        await out.wait_for(lambda r: r.key == key.encode())
        await out.drain(0.5)
    # Whether the two came in one poll or two, only the accepted message's event is ever published.
    assert [(p["message_id"], p["seq"]) for p in payloads(out.seen, key.encode())] == [(accepted.message_id, 0)]
    assert service.attempts[rejected.message_id] == 2


async def test_a_message_without_a_correlation_id_gets_one_its_logs_retries_and_events_share(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    # (correlation id in the log context, correlation id the attempt's events get), per attempt
    seen: list[tuple[str | None, str]] = []

    async def fails_once_then_emits(attempt: Attempt) -> None:
        seen.append((logs.correlation_id.get(), attempt.tx.correlation_id))
        await attempt.emit()
        if attempt.number == 1:
            raise ConnectionResetError("retry me")

    sent = await service.send(fails_once_then_emits)  # no correlation_id header

    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        [record] = await out.wait_for(lambda r: r.key == sent.key)
    published = headers_of(record)["correlation_id"]
    # One business request, one id: what the logs of its handling show is what its events carry.
    assert seen == [(published, published), (published, published)]


async def test_events_of_one_key_arrive_in_the_order_they_were_written(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    count = 50

    async def emits_many(attempt: Attempt) -> None:
        for seq in range(count):
            await attempt.emit(seq=seq)

    sent = await service.send(emits_many)

    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        await out.wait_for(lambda r: r.key == sent.key, count=count)
        await out.drain(0.5)
    # All fifty, each once, in order, though they left in batches of seven.
    assert [p["seq"] for p in payloads(out.seen, sent.key)] == list(range(count))
    assert await service.outbox_size() == 0


async def test_events_of_many_keys_leave_in_batches_on_the_partition_kafkas_own_client_would_choose(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    keys, per_key = 20, 10

    async def emits_for_many_keys(attempt: Attempt) -> None:
        for seq in range(per_key):
            for k in range(keys):
                await attempt.tx.emit(
                    attempt.output,
                    f"{attempt.message_id}-{k}",
                    Noted(message_id=attempt.message_id, seq=seq, attempt=attempt.number),
                )

    sent = await service.send(emits_for_many_keys)

    wanted = {f"{sent.message_id}-{k}".encode() for k in range(keys)}
    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        await out.wait_for(lambda r: r.key in wanted, count=keys * per_key)
        await out.drain(0.5)
    partitions = list(range(service.output.partitions))
    for key in wanted:
        mine = [r for r in out.seen if r.key == key]
        # Each key's events once, in the order written, though they left in record batches of
        # several keys, and each on the partition the Java client's partitioner gives the key.
        assert [json.loads(r.value)["payload"]["seq"] for r in mine] == list(range(per_key))
        assert {r.partition for r in mine} == {default_partitioner(key, partitions, partitions)}
    assert len({r.partition for r in out.seen if r.key in wanted}) > 1
    assert await service.outbox_size() == 0


@dataclass
class IdleOutbox:
    """A schema with an outbox and no relay running in it, so only the test's relays touch it."""

    engine: AsyncEngine
    settings: ServiceSettings

    async def put(self, topic: Topic, key: str) -> Envelope[Noted]:
        envelope = Envelope.wrap(
            Noted(message_id=key, seq=0, attempt=1), producer=self.settings.service_name, correlation_id="corr-outage"
        )
        async with self.engine.begin() as conn:
            await outbox.put_event(conn, topic, key, envelope)
        return envelope

    @property
    def lock(self) -> str:
        """What the schema's outbox lock is keyed by (`hashtext` of it: `runtime.migrations.OUTBOX_LOCK`)."""
        return f"{self.settings.database_schema}.outbox"

    async def size(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.exec_driver_sql("SELECT count(*) FROM outbox")).scalar_one())

    def relay(self, infra: InfraEndpoints, poll_interval_s: float = 0.05) -> OutboxRelay:
        """A relay of this outbox publishing to the session's Kafka."""
        return OutboxRelay(
            self.engine,
            infra.kafka_bootstrap_servers,
            batch_size=10,
            poll_interval_s=poll_interval_s,
            client_options=infra.admin_options(),
        )


@pytest.fixture
async def idle_outbox(infra: InfraEndpoints, service: TinyService, tmp_path: Path) -> AsyncIterator[IdleOutbox]:
    settings = settings_for(unique_service_name(), infra)
    await database.provision(settings)
    engine = database.create_engine(settings)
    try:
        await database.migrate(engine, write_migrations(tmp_path / "migrations"), settings.database_schema)
        yield IdleOutbox(engine, settings)
    finally:
        await engine.dispose()
        db = await service.db()
        await db.execute(f"DROP OWNED BY {settings.database_role} CASCADE")
        await db.execute(f"DROP ROLE {settings.database_role}")


@pytest.fixture
def unreachable_kafka() -> str:
    """A bootstrap address nothing listens on: Kafka as the relay sees it during an outage."""
    return f"127.0.0.1:{free_ports(1)[0]}"


async def test_a_relay_that_cannot_reach_kafka_keeps_the_events_until_it_can(
    http: httpx.AsyncClient,
    service: TinyService,
    infra: InfraEndpoints,
    idle_outbox: IdleOutbox,
    unreachable_kafka: str,
) -> None:
    # (The running module service is only needed for its output topic.)
    key = f"patient-{uuid.uuid4().hex}"
    envelope = await idle_outbox.put(service.output, key)

    with pytest.raises(Exception):  # noqa: B017 - whichever way publishing fails, the event must stay
        await OutboxRelay(idle_outbox.engine, unreachable_kafka, batch_size=10, poll_interval_s=0.05).publish_batch()
    assert await idle_outbox.size() == 1

    relay = idle_outbox.relay(infra)
    try:
        assert await relay.publish_batch() == 1
    finally:
        await relay.stop()
    assert await idle_outbox.size() == 0
    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        [record] = await out.wait_for(lambda r: r.key == key.encode())
    assert headers_of(record)["event_id"] == str(envelope.event_id)


async def test_a_relay_that_does_not_hold_the_outbox_lock_publishes_nothing_until_the_holder_lets_go(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints, idle_outbox: IdleOutbox
) -> None:
    key = f"patient-{uuid.uuid4().hex}"
    await idle_outbox.put(service.output, key)
    relay = idle_outbox.relay(infra)
    # Another replica's relay, publishing: it holds the lock of the schema's outbox.
    other = await asyncpg.connect(infra.database_url)
    try:
        await other.execute("SELECT pg_advisory_lock(hashtext($1))", idle_outbox.lock)
        assert await relay.publish_batch() == 0
        assert await idle_outbox.size() == 1
        await other.execute("SELECT pg_advisory_unlock(hashtext($1))", idle_outbox.lock)
        assert await relay.publish_batch() == 1
    finally:
        await other.close()
        await relay.stop()
    assert await idle_outbox.size() == 0


# The backends holding a schema's outbox lock (an advisory lock of one bigint key: its halves in two columns).
_LOCK_HOLDERS = (
    "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid::bigint = (hashtext($1)::bigint >> 32) & 4294967295 "
    "AND l.objid::bigint = hashtext($1)::bigint & 4294967295"
)


async def test_while_kafka_takes_a_batch_the_relay_holds_the_outbox_lock_and_no_transaction(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints, idle_outbox: IdleOutbox
) -> None:
    key = f"patient-{uuid.uuid4().hex}"
    envelope = await idle_outbox.put(service.output, key)
    relay, other_replica = idle_outbox.relay(infra), idle_outbox.relay(infra)
    observer = await asyncpg.connect(infra.database_url)
    seen: dict[str, object] = {}
    send = relay._send

    async def observed_send(rows: object) -> None:
        seen["holders"] = [row["state"] for row in await observer.fetch(_LOCK_HOLDERS, idle_outbox.lock)]
        seen["other replica published"] = await other_replica.publish_batch()
        await send(rows)  # type: ignore[arg-type]

    relay._send = observed_send  # type: ignore[method-assign]
    try:
        assert await relay.publish_batch() == 1
        holders_after = await observer.fetch(_LOCK_HOLDERS, idle_outbox.lock)
    finally:
        await observer.close()
        await relay.stop()
        await other_replica.stop()
    # One backend holds the lock while Kafka takes the batch, and it waits in no transaction.
    assert seen == {"holders": ["idle"], "other replica published": 0}
    assert holders_after == []
    assert await idle_outbox.size() == 0
    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        records = await out.wait_for(lambda r: r.key == key.encode())
    assert [headers_of(r)["event_id"] for r in records] == [str(envelope.event_id)]


async def test_a_relay_that_finds_its_outbox_empty_holds_no_lock(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints, idle_outbox: IdleOutbox
) -> None:
    relay = idle_outbox.relay(infra)
    observer = await asyncpg.connect(infra.database_url)
    try:
        assert await relay.publish_batch() == 0
        # Kept, every other replica's relay would find the lock taken for as long as this one's session lasts.
        assert await observer.fetch(_LOCK_HOLDERS, idle_outbox.lock) == []
    finally:
        await observer.close()
        await relay.stop()


async def test_an_event_committed_under_a_lower_id_while_a_batch_was_out_stays_for_the_next_batch(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints, idle_outbox: IdleOutbox
) -> None:
    late_key, early_key = (f"patient-{uuid.uuid4().hex}" for _ in range(2))
    relay = idle_outbox.relay(infra)
    async with idle_outbox.engine.connect() as late:
        # A transaction that writes its event first (the lower id) and commits after the other's.
        late_tx = await late.begin()
        await outbox.put_event(
            late,
            service.output,
            late_key,
            Envelope.wrap(Noted(message_id=late_key, seq=0, attempt=1), producer="t", correlation_id="c"),
        )
        await idle_outbox.put(service.output, early_key)
        send = relay._send
        batches: list[list[bytes]] = []

        async def send_then_commit_the_late_one(rows: list[asyncpg.Record]) -> None:
            batches.append([row["key"] for row in rows])
            await send(rows)
            if late_tx.is_active:
                await late_tx.commit()

        relay._send = send_then_commit_the_late_one  # type: ignore[method-assign]
        try:
            assert await relay.publish_batch() == 1
            assert await idle_outbox.size() == 1, "the event committed while the batch was out was deleted unsent"
            assert await relay.publish_batch() == 1
        finally:
            await relay.stop()
    assert batches == [[early_key.encode()], [late_key.encode()]]
    assert await idle_outbox.size() == 0


async def test_a_relay_whose_batch_kafka_did_not_take_lets_go_of_the_outbox_lock(
    http: httpx.AsyncClient,
    service: TinyService,
    infra: InfraEndpoints,
    idle_outbox: IdleOutbox,
    unreachable_kafka: str,
) -> None:
    await idle_outbox.put(service.output, f"patient-{uuid.uuid4().hex}")
    relay = OutboxRelay(idle_outbox.engine, unreachable_kafka, batch_size=10, poll_interval_s=0.05)
    with pytest.raises(Exception):  # noqa: B017 - whichever way publishing fails, the lock must go
        await relay.publish_batch()
    other_replica = await asyncpg.connect(infra.database_url)
    try:
        assert await other_replica.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", idle_outbox.lock)
    finally:
        await other_replica.close()
    assert await idle_outbox.size() == 1


async def test_stopping_a_relay_during_a_kafka_outage_returns_and_keeps_the_events(
    http: httpx.AsyncClient, service: TinyService, idle_outbox: IdleOutbox, unreachable_kafka: str
) -> None:
    await idle_outbox.put(service.output, f"patient-{uuid.uuid4().hex}")
    relay = OutboxRelay(idle_outbox.engine, unreachable_kafka, batch_size=10, poll_interval_s=0.05)
    relay.start()

    # A service asked to stop while Kafka is down must still get to the rest of its shutdown;
    # the events wait for the next start.
    await asyncio.wait_for(relay.stop(), timeout=10)
    assert await idle_outbox.size() == 1


async def test_a_commit_that_wakes_the_relay_while_it_publishes_is_published_next_not_at_the_next_poll(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints, idle_outbox: IdleOutbox
) -> None:
    # A poll interval far longer than the test may take: only the wake-up can publish the second event.
    relay = idle_outbox.relay(infra, poll_interval_s=600)
    first, second = (f"patient-{uuid.uuid4().hex}" for _ in range(2))
    publish_batch = relay.publish_batch

    async def another_commit_during_the_batch(conn: object = None) -> int:
        published = await publish_batch(conn)  # type: ignore[arg-type]
        if published and await idle_outbox.size() == 0 and not second_written.is_set():
            # As a consumer's transaction does: commit an event, then wake the relay, while it is busy.
            await idle_outbox.put(service.output, second)
            second_written.set()
            relay.wake()
        return published

    second_written = asyncio.Event()
    relay.publish_batch = another_commit_during_the_batch  # type: ignore[method-assign]
    await idle_outbox.put(service.output, first)
    relay.start()
    try:
        async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
            await out.wait_for(lambda r: r.key == first.encode(), timeout=60)
            await asyncio.wait_for(second_written.wait(), timeout=60)
            await out.wait_for(lambda r: r.key == second.encode(), timeout=60)
    finally:
        await relay.stop()


async def test_a_relay_whose_producer_keeps_failing_publishes_with_a_fresh_one(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints, idle_outbox: IdleOutbox
) -> None:
    """After a broker restart an idempotent producer whose batch failed can fail every batch after it with
    OutOfOrderSequenceNumber; `efrikort chaos` saw a relay stuck so for good. The relay starts a new one."""
    relay = idle_outbox.relay(infra)
    relay.start()
    try:
        await idle_outbox.put(service.output, f"patient-{uuid.uuid4().hex}")
        assert await eventually(lambda: _empty(idle_outbox), timeout=30)
        stuck = relay._producer
        assert stuck is not None

        async def out_of_order(*args: object, **kwargs: object) -> None:
            raise OutOfOrderSequenceNumber()

        stuck.send_batch = out_of_order  # type: ignore[method-assign]  # the producer's state after the restart
        key = f"patient-{uuid.uuid4().hex}"
        envelope = await idle_outbox.put(service.output, key)

        assert await eventually(lambda: _empty(idle_outbox), timeout=30), "the relay kept its broken producer"
        async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
            [record] = await out.wait_for(lambda r: r.key == key.encode())
        assert headers_of(record)["event_id"] == str(envelope.event_id)
    finally:
        await relay.stop()


async def _empty(idle_outbox: IdleOutbox) -> bool:
    return await idle_outbox.size() == 0


async def test_the_relay_takes_its_batch_by_the_index_whatever_postgresql_knows_of_the_outbox(
    http: httpx.AsyncClient, service: TinyService, idle_outbox: IdleOutbox
) -> None:
    async with idle_outbox.engine.connect() as conn:
        driver = await database.driver_connection(conn)
        await driver.execute("ALTER TABLE outbox SET (autovacuum_enabled = false)")
        await driver.execute("ANALYZE outbox")
        await conn.commit()

        async def take() -> tuple[int, int]:
            """A batch held and let go as the relay does, and how many times that read the whole outbox."""
            # The backend's own counts, of this transaction and of any before it not yet flushed: compared.
            # (The relay sends the two statements on their own; a transaction here only keeps the counts.)
            whole_reads = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'outbox'::regclass"
            async with conn.begin():
                driver = await database.driver_connection(conn)
                before = await driver.fetchval(whole_reads)
                held = await driver.fetch(outbox.HOLD_BATCH, 500)
                if held:
                    await driver.execute(outbox.RELEASE_BATCH, [row["id"] for row in held])
                after = await driver.fetchval(whole_reads)
            return len(held), after - before

        # Taken while the outbox is empty, as often as it takes PostgreSQL to settle on a plan it may keep...
        for _ in range(8):
            assert await take() == (0, 0)
        # ...then a backlog, as flat-out load leaves behind it, before the table is analysed again.
        await driver.execute(
            "INSERT INTO outbox (topic, key, value, headers) "
            "SELECT 'backlog', NULL, convert_to(repeat('x', 900), 'UTF8'), '{}' FROM generate_series(1, 40000)"
        )
        await conn.commit()
        assert await take() == (500, 0)
        # The backlog drained: a table and an index as large as the backlog made them, holding a few rows.
        await driver.execute("DELETE FROM outbox WHERE id < (SELECT max(id) - 2 FROM outbox)")
        await conn.commit()
        await driver.execute("VACUUM ANALYZE outbox")
        assert await take() == (3, 0)
