"""Assembling and running a service: its consumers, its HTTP routes, health, readiness and metrics.

Every service is started the same way: provision its schema and role, apply its migrations,
create its topics, start the consumers and the outbox relay, serve HTTP. On SIGTERM or Ctrl-C
it stops taking messages, lets the one in flight finish or abandons it uncommitted, flushes the
outbox, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import uvicorn
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts.topics import SystemTopic, Topic
from runtime import database, http, identity, inbox, kafka, problems, tracing
from runtime.backoff import OutageBackoff
from runtime.consumers import Consumer, Delivery, MessageProcessor, Outage
from runtime.database import KeptConnection
from runtime.logs import configure_logging
from runtime.membership import membership_consumer, skipping_exited_patients
from runtime.memory import freeze_start_up_objects
from runtime.metrics import CONSUMER_LAG, INBOX_FORGOTTEN, start_dead_letter_counts
from runtime.offsets import OffsetCommitter
from runtime.outbox import OutboxRelay
from runtime.partitioner import default_partitioner
from runtime.polling import POLL_TIMEOUT_MS, fetch_options, prompt
from runtime.settings import DevelopmentDefaultsRefused, ServiceSettings
from runtime.tls import server_config
from runtime.topics import ensure_topics
from runtime.transaction import UnitOfWork

log = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

MONITOR_INTERVAL_S = 5.0
INBOX_FORGET_BATCH = 10_000
"""Message ids forgotten per transaction."""
METADATA_MAX_AGE_MS = 5000
"""How often clients ask the broker which topics there are. A pattern subscription (registration reading
every integrated system's submissions) sees a newly approved system's topic only then; Kafka's default
(five minutes) would leave a new system unanswered that long."""
BACKGROUND_STOP_TIMEOUT_S = 10.0

BackgroundTask = Callable[["Runtime[Any]"], Coroutine[Any, Any, None]]
"""Work a service does besides consuming and serving HTTP (a delivery worker, say): a coroutine that
runs until cancelled. It is started once the broker is, and cancelled first on shutdown; it should
leave nothing half done that a later start cannot pick up."""


@dataclass
class Service:
    """What a service is: the part that differs from one service to the next."""

    name: str
    migrations: Path
    consumers: Sequence[Consumer] = ()
    produces: Sequence[Topic | SystemTopic] = ()
    router: APIRouter | None = None
    title: str = ""
    background: Sequence[BackgroundTask] = ()
    obeys_patient_exit: bool = True
    """Subscribe to patient exit: delete the patient's rows, tombstone the compacted patient topics it
    produces, and skip the patient's events until re-entry (see `runtime.membership`). Every service does."""
    kept_on_exit: Sequence[str] = ()
    """Tables whose rows about a patient the law keeps through the patient's exit (the audit log)."""
    provides: Sequence[object] = ()
    """Objects the service's routes ask for by type (`runtime.http.provided`): its region settings, say.
    Bound here once, as handlers are bound to theirs."""


class Runtime(Generic[SettingsT]):
    """The shared machinery one service process runs on, with the service's own settings."""

    def __init__(self, settings: SettingsT) -> None:
        self.settings = settings
        self.engine = database.create_engine(settings)
        self.broker = KafkaBroker(
            # FastStream takes a string as one host: a cluster's comma-separated list goes as a list.
            settings.kafka_bootstrap_servers.split(","),
            client_id=f"efrikort-{settings.service_name}",
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            partitioner=default_partitioner,
            graceful_timeout=10.0,
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            apply_types=False,
            logger=logging.getLogger("faststream"),
            security=kafka.security(settings),
        )
        self.relay = OutboxRelay(
            self.engine,
            settings.kafka_bootstrap_servers,
            settings.outbox_batch_size,
            settings.outbox_poll_interval_s,
            client_id=f"efrikort-{settings.service_name}-relay",
            client_options=kafka.client_options(settings),
        )
        self.uow = UnitOfWork(self.engine, self.relay, producer=settings.service_name)
        self.tracing = tracing.tracing_for(settings)
        """Spans exported over OTLP, when an endpoint is configured (`runtime.tracing`); None otherwise."""
        self.processor = MessageProcessor(self.broker, self.uow, settings)
        self._subscribers: list[tuple[Any, bool]] = []
        """Each subscriber, and whether it reads by pattern."""
        self._backoffs: list[OutageBackoff] = []
        self._connections: list[KeptConnection] = []
        """Each subscriber's own database connection."""
        self._offsets: list[OffsetCommitter] = []
        """Each subscriber's handled offsets, committed now and then."""
        self.has_read_models = False
        """Some consumer is `ready_once_read`: readiness then checks `read_what_was_there` too."""
        self._to_read: list[tuple[Consumer, Any]] = []
        self._read_up_to: dict[str, dict[TopicPartition, int]] = {}

    def subscribe(self, consumer: Consumer) -> None:
        async def as_it_came(message: StreamMessage[Any]) -> StreamMessage[Any]:
            # Decoding belongs to the handler, so that a message which is not JSON still reaches it
            # and gets a rejection or a dead letter instead of failing inside the framework. The handler
            # is handed the poll itself: the broker applies no types (`apply_types=False`), because
            # FastStream's dependency injection handed a `KafkaMessage` over through a worker thread,
            # a thread hop on every poll of every consumer.
            return message

        async def readable_headers(
            records: tuple[ConsumerRecord[Any, Any], ...], parse: Callable[..., Awaitable[StreamMessage[Any]]]
        ) -> StreamMessage[Any]:
            # FastStream decodes header values as UTF-8; one that is not (or is null) would fail every
            # redelivery in the framework and stop the partition. Outside systems can send anything.
            return await parse(tuple(_with_readable_headers(record) for record in records))

        # A system topic is every integrated system's copy, found by pattern as access creates them.
        topics, pattern = (
            ((), consumer.topic.pattern) if isinstance(consumer.topic, SystemTopic) else ((consumer.topic.name,), None)
        )
        offsets = OffsetCommitter(consumer.topic.name, self.settings.consumer_commit_interval_s)
        fetch = fetch_options(gathers=consumer.gathers, gather_ms=self.settings.consumer_gather_ms)
        subscriber = self.broker.subscriber(
            *topics,
            pattern=pattern,
            group_id=consumer.group,
            auto_offset_reset="earliest",
            # Offsets are committed by `runtime.offsets`, now and then, not by FastStream after every poll.
            ack_policy=AckPolicy.MANUAL,
            listener=offsets,
            parser=readable_headers,
            decoder=as_it_came,
            batch=True,
            batch_timeout_ms=POLL_TIMEOUT_MS,
            max_records=self.settings.consumer_batch_size,
            fetch_max_wait_ms=fetch.max_wait_ms,
            fetch_min_bytes=fetch.min_bytes,
        )
        subscriber = prompt(subscriber)

        connection = KeptConnection(self.engine)
        self._connections.append(connection)
        backoff = OutageBackoff(
            consumer.topic.name,
            self.settings.consumer_outage_backoff_initial_s,
            self.settings.consumer_outage_backoff_max_s,
        )

        @subscriber
        async def handle(message: StreamMessage[Any]) -> None:
            records = message.raw_message
            outside = consumer.from_outside
            deliveries = [Delivery.from_record(r, from_outside=outside) for r in records]
            client = subscriber.consumer
            try:
                with tracing.handling(self.tracing, consumer.topic.name, deliveries):
                    await self.processor.process_batch(consumer, deliveries, connection)
            except Exception as failure:
                # An outage (or, never expected, anything else escaping the processor): nothing of the batch
                # counts. It is read again once the pause is over; the poll loop goes on with the partitions
                # paused, so the member stays in its group.
                offsets.rewind(client, records)
                if not isinstance(failure, Outage):
                    # Its type only: the text of an error from deep in a handler may quote what a message held.
                    log.error("handling a batch failed outside the processor's care (%s)", type(failure).__name__)
                cause = failure.__cause__ if isinstance(failure, Outage) and failure.__cause__ else failure
                backoff.pause(client, cause)
                return
            await offsets.handled(client, records)
            backoff.recovered()

        self._subscribers.append((subscriber, isinstance(consumer.topic, SystemTopic)))
        self._offsets.append(offsets)
        self._backoffs.append(backoff)
        if isinstance(consumer.topic, Topic):
            start_dead_letter_counts(consumer.topic.name)
        if consumer.ready_once_read:
            self.has_read_models = True
            self._to_read.append((consumer, subscriber))

    async def commit_offsets(self) -> None:
        """Commit what every consumer has handled, now rather than at the next interval."""
        for offsets in self._offsets:
            await offsets.commit()

    def assigned(self) -> bool:
        """Every consumer has joined its group and holds partitions; one that reads by pattern may hold
        none (no integrated system approved yet, or more replicas than the systems' partitions)."""
        return all(
            sub.consumer is not None and (by_pattern or sub.consumer.assignment())
            for sub, by_pattern in self._subscribers
        )

    async def read_what_was_there(self) -> bool:
        """Every `ready_once_read` consumer's group has committed up to where its topic ended when
        first asked (about when the service started). Once true it stays so."""
        for consumer, subscriber in list(self._to_read):
            client = subscriber.consumer
            if client is None:
                return False
            if consumer.group not in self._read_up_to:
                partitions = [
                    TopicPartition(consumer.topic.name, p)
                    for p in sorted(client.partitions_for_topic(consumer.topic.name) or ())
                ]
                if not partitions:
                    return False
                self._read_up_to[consumer.group] = await client.end_offsets(partitions)
            for tp, end in self._read_up_to[consumer.group].items():
                if end > 0 and (await client.committed(tp) or 0) < end:
                    return False
            self._to_read.remove((consumer, subscriber))
        return True

    def backing_off(self) -> bool:
        """Some consumer is waiting out an outage (its partitions paused between tries)."""
        return any(backoff.backing_off for backoff in self._backoffs)

    async def stop_consumers(self) -> None:
        """Leave the consumer groups; what was not committed is redelivered to the next member."""
        for backoff in self._backoffs:
            backoff.stop()
        for offsets in self._offsets:
            await offsets.stop()
        for sub, _ in self._subscribers:
            await sub.stop()
        for connection in self._connections:
            await connection.discard()

    async def forget_old_message_ids(self, kept: Mapping[str, timedelta]) -> dict[str, int]:
        """Each consumer group (`kept`: how long it remembers) forgets the ids recorded longer ago than that,
        a bounded batch per transaction so that no lock is held long; returns how many per group."""
        forgotten: dict[str, int] = {}
        for group, keep in kept.items():
            before = datetime.now(UTC) - keep
            forgotten[group] = 0
            while True:
                async with self.engine.begin() as conn:
                    count = await inbox.forget_before(conn, group, before, INBOX_FORGET_BATCH)
                forgotten[group] += count
                INBOX_FORGOTTEN.labels(group).inc(count)
                if count < INBOX_FORGET_BATCH:
                    break
        return forgotten

    async def measure(self) -> None:
        """Consumer lag per partition, how long consumers have backed off, and the outbox backlog, for /metrics."""
        for backoff in self._backoffs:
            backoff.measure()
        for sub, _ in self._subscribers:
            consumer = sub.consumer
            if consumer is None:
                continue
            for tp in consumer.assignment():
                highwater = consumer.highwater(tp)
                if highwater is None:
                    continue
                with contextlib.suppress(Exception):
                    position = await consumer.position(tp)
                    CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))
        await self.relay.measure_backlog()


def _with_readable_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    headers = record.headers or ()
    try:
        if all(value is not None and value.decode("utf-8") is not None for _, value in headers):
            return record
    except UnicodeDecodeError:
        pass
    readable = tuple((name, (value or b"").decode("utf-8", "replace").encode()) for name, value in headers)
    return dataclasses.replace(record, headers=readable)


def create_app(service: Service, runtime: Runtime[Any]) -> FastAPI:
    """The service's ASGI application: its consumers subscribed, its routes and the operations routes."""
    consumers = (
        [
            *(skipping_exited_patients(c) for c in service.consumers),
            membership_consumer(service.name, kept=service.kept_on_exit, produces=service.produces),
        ]
        if service.obeys_patient_exit
        else list(service.consumers)
    )
    for consumer in consumers:
        runtime.subscribe(consumer)
    app = FastAPI(
        title=service.title or f"e-frikort {service.name}",
        lifespan=functools.partial(_lifespan, service=service, runtime=runtime, consumers=consumers),
    )
    problems.install(app)
    http.install(app, runtime, service.provides)
    app.state.identify = identity.identify_for(
        runtime.settings.trust_identity_header,
        runtime.settings.serves_tls,
        trusted_frontends=runtime.settings.trusted_frontend_ids,
    )
    app.include_router(operations)
    if service.router is not None:
        app.include_router(service.router)
    return app


@contextlib.asynccontextmanager
async def _lifespan(
    app: FastAPI, *, service: Service, runtime: Runtime[Any], consumers: Sequence[Consumer]
) -> AsyncIterator[None]:
    """Start: schema, migrations, topics, consumers, relay, background work. Stop: the reverse, taking
    no more messages first (what a handler had not committed is redelivered later)."""
    settings = runtime.settings
    settings.refuse_development_defaults()
    settings.warn_about_development_defaults()
    await database.provision(settings)
    await database.migrate(runtime.engine, service.migrations, settings.database_schema)
    # The integrated systems' own topics are access's to create, when it approves a system.
    consumed = [c.topic for c in consumers if isinstance(c.topic, Topic)]
    produced = [t for t in service.produces if isinstance(t, Topic)]
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [*consumed, *(t.dead_letter for t in consumed), *produced],
        settings.topic_replication_factor,
        kafka.client_options(settings),
    )
    await runtime.broker.start()
    runtime.relay.start()
    monitor = asyncio.create_task(_monitor(runtime), name="monitor")
    forgetting = asyncio.create_task(
        _forget_old_message_ids(runtime, inbox.kept_for((c.group, c.topic) for c in consumers)), name="inbox"
    )
    background = [
        asyncio.create_task(_supervised(task, runtime), name=getattr(task, "__name__", "background"))
        for task in service.background
    ]
    freeze_start_up_objects()
    log.info("%s started; HTTP on %s:%d", service.name, settings.http_host, settings.http_port)
    try:
        yield
    finally:
        monitor.cancel()
        forgetting.cancel()
        await _stop(background)
        await runtime.stop_consumers()
        await runtime.relay.stop()
        await runtime.broker.stop()
        await runtime.engine.dispose()
        if runtime.tracing is not None:
            await asyncio.to_thread(runtime.tracing.shutdown)
        log.info("%s stopped", service.name)


operations = APIRouter(tags=["operations"])
"""What every service answers for its operators: alive, ready, metrics."""
RuntimeDep = Annotated["Runtime[Any]", Depends(http.runtime_of)]


@operations.get("/health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@operations.get("/ready")
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Kafka and PostgreSQL reachable, every consumer assigned its partitions and none backing off an
    outage. A check that fails with an error counts as not ready: a probe must always be answered."""
    checks = {
        "postgresql": await _passes(database.is_reachable(runtime.engine)),
        "kafka": await _passes(runtime.broker.ping(timeout=2.0)),
        "consumers": runtime.assigned(),
        "consuming": not runtime.backing_off(),
    }
    if runtime.has_read_models:
        checks["read_models"] = checks["consumers"] and await _passes(runtime.read_what_was_there())
    status = 200 if all(checks.values()) else 503
    return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)


async def _passes(check: Awaitable[bool]) -> bool:
    try:
        return bool(await check)
    except Exception:
        log.warning("a readiness check failed", exc_info=True)
        return False


@operations.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _monitor(runtime: Runtime[Any]) -> None:
    while True:
        await asyncio.sleep(MONITOR_INTERVAL_S)
        try:
            await runtime.measure()
        except Exception:
            log.warning("could not measure lag and backlog", exc_info=True)


async def _forget_old_message_ids(runtime: Runtime[Any], kept: Mapping[str, timedelta]) -> None:
    while True:
        await asyncio.sleep(runtime.settings.inbox_forget_interval_s)
        try:
            forgotten = await runtime.forget_old_message_ids(kept)
        except Exception:
            log.warning("could not forget old message ids; tried again in an interval", exc_info=True)
            continue
        if any(forgotten.values()):
            log.info("inbox: forgot the ids of messages their topics no longer hold: %s", forgotten)


async def _supervised(task: BackgroundTask, runtime: Runtime[Any]) -> None:
    """Run a background task; if it dies, say so loudly and start it again after a pause."""
    while True:
        try:
            await task(runtime)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s failed; restarting it", getattr(task, "__name__", task))
            await asyncio.sleep(1.0)


async def _stop(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=BACKGROUND_STOP_TIMEOUT_S)


def run(build: Callable[[Runtime[SettingsT]], Service], settings: SettingsT) -> None:
    """Run one service until SIGTERM or Ctrl-C. `build` receives the runtime with the service's own
    settings type, so it reads its fields without a cast or a fallback."""
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    try:
        settings.refuse_development_defaults()
    except DevelopmentDefaultsRefused as refused:
        log.critical("%s does not start: %s", settings.service_name, refused)
        raise SystemExit(2) from None
    runtime = Runtime(settings)
    app = create_app(build(runtime), runtime)
    uvicorn.Server(server_config(app, settings)).run()
