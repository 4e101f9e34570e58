"""The load benchmark: fee submissions in through Kafka as integrated systems send them, outcomes out.

Measures over a running stack, per submission from its publication:
- stage `outcome` (end to end): until its outcome on the bench system's own
  `efrikort.systems.<system-id>.fee-outcomes.v1`;
- stage `registration`: until registration has validated, stored and passed it on as `FeeRegistered`
  on `efrikort.fees.v1` (registration's own throughput, whatever protection does after);
- `http_latency`: `POST /v1/fees` at a steady rate until the answer with the amount due.

The bench's own provider, unit, employee and system (none of them the sample directory's) are imported
into access first, as a partial directory export; access publishes their grants and opens the system's
topics, and the bench waits until registration holds the grants. The bench then sends as the admin user
(it measures, it is not a system).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from access.app import HTTP_PORT, NAME
from access.settings import AccessSettings
from contracts.identity import with_check_digit
from contracts.topics import FEES, SYSTEM_FEE_OUTCOMES, SYSTEM_FEE_SUBMISSIONS
from efrikort.bench_cpu import CpuUse, used_between
from efrikort.bench_cpu import snapshot as cpu_snapshot
from efrikort.kafka_principals import admin_client_options
from efrikort.seed_generator import LOWEST_SEEDED_SERIAL, identity_number
from efrikort.through_access import PartialExport, grant_keys, import_actors, until_held, until_opened
from runtime.partitioner import default_partitioner
from runtime.service import METADATA_MAX_AGE_MS
from runtime.tls import CLIENT_IDLE_CONNECTION_KEPT_S

BENCH_SYSTEM = "SE2321000016-BENCH"
BENCH_PROVIDER = "SE2321000016-PBENCH"
BENCH_UNIT = "SE2321000016-UBENCH"
BENCH_EMPLOYEE = "SE2321000016-EBENCH"
SUBMISSIONS = SYSTEM_FEE_SUBMISSIONS.of(BENCH_SYSTEM).name
STAGES = {"outcome": SYSTEM_FEE_OUTCOMES.of(BENCH_SYSTEM).name, "registration": FEES.name}


def synthetic_patients(count: int, seed: int, seeded: int = 0) -> list[str]:
    """Valid identity numbers that belong to nobody in particular, reproducible from the seed. With
    `seeded`, `count` of the first `seeded` patients `efrikort seed-ledger` wrote: their years of fees are
    already stored, so each new fee is counted on top of a history."""
    rng = random.Random(seed)
    if seeded:
        return sorted(identity_number(index) for index in rng.sample(range(seeded), min(count, seeded)))
    numbers: set[str] = set()
    while len(numbers) < count:
        # Adults (25 to 80), so that no age rule makes their visits free.
        birth = date(1946, 1, 1) + timedelta(days=rng.randrange(55 * 365))
        # Below the serials `seed-ledger` gives, so that a new patient is new on a seeded ledger too.
        numbers.add(with_check_digit(birth.strftime("%Y%m%d") + f"{rng.randrange(LOWEST_SEEDED_SERIAL):03d}"))
    return sorted(numbers)


def percentile(latencies_ms: Sequence[float], p: float) -> float:
    ordered = sorted(latencies_ms)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass(frozen=True)
class Hop:
    """One stretch of the way from submission to outcome, timed for each submission of a run."""

    name: str
    latencies_ms: list[float]

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


@dataclass(frozen=True)
class BenchResult:
    submissions: int
    seconds: float
    latencies_ms: list[float]
    hops: tuple[Hop, ...] = ()
    """Where the time went, stretch by stretch, when the run timed them (the `outcome` stage)."""
    cpu: CpuUse | None = None
    """The cores the machine and each part of the stack kept busy while the run sent and was answered."""

    @property
    def per_second(self) -> float:
        return self.submissions / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def report(self) -> str:
        line = (
            f"{self.submissions} sent in {self.seconds:.2f}s: {self.per_second:.0f}/s; "
            f"latency p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms, "
            f"mean {statistics.fmean(self.latencies_ms):.0f} ms"
        )
        if self.hops:
            stretches = ", ".join(f"{h.name} {h.percentile(50):.0f} / {h.percentile(99):.0f}" for h in self.hops)
            line = f"{line}\n       hops p50 / p99 ms: {stretches}"
        if self.cpu:
            line = "\n       ".join([line, *self.cpu.lines()])
        return line


def bench_submission(rng: random.Random, people: list[str], first_visit: date) -> dict[str, object]:
    return {
        "submission_id": str(uuid.uuid4()),
        "system_id": BENCH_SYSTEM,
        "patient_id": rng.choice(people),
        "visit_date": (first_visit + timedelta(days=rng.randrange(300))).isoformat(),
        "care_unit": BENCH_UNIT,
        "registered_by": BENCH_EMPLOYEE,
        "fee_type": "doctor_visit",
        "fee_amount": rng.choice((100, 200, 300, 400)),
        "source": "visit",
    }


def bench_actors(region: str) -> PartialExport:
    """The bench's own provider (agreement signed), unit, employee (`EFK;Användare`) and system, in the
    deployment's region. None is the sample directory's: a bench that redefined the sample's unit once
    left the example fee refused."""
    actors = PartialExport(region)
    provider = actors.provider(BENCH_PROVIDER)
    actors.employee(BENCH_EMPLOYEE, actors.unit(BENCH_UNIT, provider))
    actors.system(BENCH_SYSTEM)
    return actors


async def admit_bench_actors(bootstrap: str, settings: AccessSettings | None = None) -> None:
    """Import the bench's actors into access (its settings from the environment unless given), and wait
    until access has opened the bench system's topics and registration holds the grants."""
    settings = settings or AccessSettings.for_service(NAME, http_port=HTTP_PORT)
    actors = bench_actors(settings.region)
    await import_actors(actors, settings)
    await until_opened(bootstrap, admin_client_options(), [BENCH_SYSTEM])
    await until_held(
        settings.database_url,
        grant_keys(actors.export()),
        access_schema=settings.database_schema,
        readers=("registration",),
    )
    # Registration subscribes to the systems' topics by pattern and finds a new one when its metadata is
    # next refreshed: what is sent before waits for that, and the first run would time the discovery.
    await asyncio.sleep(METADATA_MAX_AGE_MS / 1000 + 1)


class Progress:
    """A line on stderr every few seconds of a long run, so that a run of minutes is seen to move."""

    EVERY_S = 3.0

    def __init__(self, total: int, doing: str) -> None:
        self._total = total
        self._doing = doing
        self._began = self._shown = time.monotonic()

    def show(self, done: int) -> None:
        now = time.monotonic()
        if now - self._shown >= self.EVERY_S and done < self._total:
            self._shown = now
            elapsed = now - self._began
            print(f"  ... {self._doing} {done}/{self._total} after {elapsed:.0f} s", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Outgoing:
    """One message the bench sends, and the id its answer will carry."""

    topic: str
    key: bytes
    value: bytes
    tracking_id: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def sender_linger_ms(rate: float | None) -> int:
    """How long the bench's producer holds a message back in case more come: not at all when paced, as
    an integrated system waiting on each outcome sends (and as the floor's echoes do). Each message's
    time starts when the producer takes it (its CreateTime), so a held message counted the hold in the
    figure and in the floor alike: at 200/s, 5 ms of each. Flat out, the hold only fills batches."""
    return 0 if rate else 5


async def _send_paced(producer: AIOKafkaProducer, outgoing: Sequence[Outgoing], rate: float | None) -> dict[bytes, int]:
    """Send every message, at `rate` per second when given; each one's CreateTime by its tracking id."""
    began = time.perf_counter()
    progress = Progress(len(outgoing), "sent")
    pending = []
    for index, message in enumerate(outgoing):
        pending.append(await producer.send(message.topic, message.value, key=message.key, headers=message.headers))
        progress.show(index + 1)
        if rate:
            delay = began + (index + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
    return {
        message.tracking_id: metadata.timestamp
        for message, metadata in zip(outgoing, await asyncio.gather(*pending), strict=True)
    }


async def send_and_collect(
    bootstrap: str,
    answers_topic: str,
    outgoing: Sequence[Outgoing],
    answer_id: Callable[[ConsumerRecord[bytes, bytes]], bytes | None],
    rate: float | None = None,
    via: str | None = None,
) -> BenchResult:
    """Send every message (at `rate` per second, or as fast as possible) and time each one until its
    answer appears on `answers_topic`; the throughput is from the first send to the last answer.

    The times are Kafka's own record timestamps (CreateTime, stamped when a producer takes the
    record): the message's, and its answer's. So the bench needs to read the answers only after the
    run, and while it runs it does little but send: it shares the two cores with what it measures,
    and reading thousands of answers as they come took a third of a core from the service measured.
    The messages are encoded before the clock starts, for the same reason.

    `via`, a topic each message passes on its way (registration's `FeeRegistered` on the fees topic,
    carrying the message's correlation id): read after the run too, it splits each latency into hops.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **admin_client_options()
    )
    await consumer.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=sender_linger_ms(rate),
        partitioner=default_partitioner,
        **admin_client_options(),
    )
    await producer.start()
    try:
        partitions = [TopicPartition(answers_topic, p) for p in sorted(await producer.partitions_for(answers_topic))]
        consumer.assign(partitions)
        before = await consumer.end_offsets(partitions)
        for tp, offset in before.items():
            consumer.seek(tp, offset)
        passing = [TopicPartition(via, p) for p in sorted(await producer.partitions_for(via))] if via else []
        passing_from = await consumer.end_offsets(passing) if passing else {}

        cpu_before = cpu_snapshot()
        sent_at = await _send_paced(producer, outgoing, rate)
        deadline = time.monotonic() + max(120.0, len(outgoing) / 50)
        await _until_answers_written(consumer, before, len(outgoing), deadline)
        cpu = used_between(cpu_before, cpu_snapshot())
        answered_at: dict[bytes, int] = {}
        while len(answered_at) < len(sent_at):
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(answered_at)} of {len(sent_at)} answered in time")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    tracking_id = answer_id(record)
                    if tracking_id in sent_at and tracking_id not in answered_at:
                        answered_at[tracking_id] = record.timestamp
        latencies = [float(answered_at[tracking_id] - sent) for tracking_id, sent in sent_at.items()]
        seconds = (max(answered_at.values()) - min(sent_at.values())) / 1000
        passages = await _passages(consumer, passing_from, set(sent_at)) if passing_from else {}
        hops = _hops(sent_at, passages, answered_at) if passages else ()
        return BenchResult(len(outgoing), max(seconds, 0.001), latencies, hops, cpu)
    finally:
        await producer.stop()
        await consumer.stop()


async def _until_answers_written(
    consumer: AIOKafkaConsumer, before: dict[TopicPartition, int], count: int, deadline: float
) -> None:
    """Wait, asking only for the end offsets, until the answers topic has grown by `count` records."""
    progress = Progress(count, "answered")
    while time.monotonic() < deadline:
        after = await consumer.end_offsets(list(before))
        answered = sum(after[tp] - offset for tp, offset in before.items())
        progress.show(answered)
        if answered >= count:
            return
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Passage:
    """A message passing a topic on its way: when the service made the event it caused there (the
    envelope's `occurred_at`, in its handler) and when its relay published it (the record's CreateTime)."""

    made_ms: int
    published_ms: int


async def _passages(
    consumer: AIOKafkaConsumer, since: dict[TopicPartition, int], tracking_ids: set[bytes]
) -> dict[bytes, Passage]:
    """Each tracked message's passage, read from the topic after the run: by the correlation id the
    service carried over from the message to the event it caused."""
    consumer.assign(list(since))
    for tp, offset in since.items():
        consumer.seek(tp, offset)
    end = await consumer.end_offsets(list(since))
    passages: dict[bytes, Passage] = {}
    while [tp for tp, offset in end.items() if await consumer.position(tp) < offset]:
        batch = await consumer.getmany(timeout_ms=500, max_records=5000)
        for record in (record for records in batch.values() for record in records):
            tracking_id = next((value for name, value in record.headers if name == "correlation_id"), None)
            if tracking_id in tracking_ids and record.value is not None:
                made = datetime.fromisoformat(json.loads(record.value)["occurred_at"])
                passages.setdefault(tracking_id, Passage(round(made.timestamp() * 1000), record.timestamp))
    return passages


def _hops(sent_at: dict[bytes, int], passages: dict[bytes, Passage], answered_at: dict[bytes, int]) -> tuple[Hop, ...]:
    """The stretches of an outcome's way: Kafka, the wait for the poll and the handling until registration
    made `FeeRegistered`; the rest of its transaction, the commit and its relay until published; from there
    until protection's relay published the outcome (Kafka, the poll, the handling, the commit, the relay)."""
    timed = [(sent_at[i], passage, answered_at[i]) for i, passage in passages.items() if i in answered_at]
    return (
        Hop("to registration's event", [float(passage.made_ms - sent) for sent, passage, _ in timed]),
        Hop("its commit and relay", [float(passage.published_ms - passage.made_ms) for _, passage, _ in timed]),
        Hop("protection, to its relay's send", [float(done - passage.published_ms) for _, passage, done in timed]),
    )


def _answer_id(stage: str) -> Callable[[ConsumerRecord[bytes, bytes]], bytes | None]:
    def of_outcome(record: ConsumerRecord[bytes, bytes]) -> bytes | None:
        return record.key

    def of_registered_fee(record: ConsumerRecord[bytes, bytes]) -> bytes | None:
        # Registration carries the submission's correlation id over to the event it causes; reading
        # the header spares the bench parsing every event (the bench shares the machine it measures).
        return next((value for name, value in record.headers if name == "correlation_id"), None)

    return of_outcome if stage == "outcome" else of_registered_fee


async def run_bench(
    bootstrap: str,
    submissions: int,
    patients: int,
    rate: float | None,
    seed: int,
    stage: str = "outcome",
    seeded: int = 0,
) -> BenchResult:
    """Publish `submissions` fees spread over `patients` patients (at `rate` per second, or as fast
    as possible) and wait until every one has reached `stage`."""
    people = synthetic_patients(patients, seed, seeded)
    rng = random.Random(seed)
    first_visit = date.today() - timedelta(days=300)

    outgoing = []
    for _ in range(submissions):
        document = bench_submission(rng, people, first_visit)
        key = str(document["submission_id"]).encode()
        outgoing.append(
            Outgoing(
                SUBMISSIONS, key, json.dumps(document).encode(), tracking_id=key, headers=[("correlation_id", key)]
            )
        )
    via = FEES.name if stage == "outcome" else None
    return await send_and_collect(bootstrap, STAGES[stage], outgoing, _answer_id(stage), rate, via)


HTTP_CONNECTIONS = 200
"""The most keep-alive connections the HTTP measurement opens, each carrying one request at a time."""


@dataclass
class ServiceConnection:
    """One of the HTTP measurement's keep-alive connections to a service. One idle longer than a client of
    the services keeps one (`CLIENT_IDLE_CONNECTION_KEPT_S`, as the desk) is opened anew before the next
    request: the service may be closing it, and a request sent on it then gets no answer."""

    host: str
    port: int
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    last_used: float = 0.0

    async def exchange(self, request: bytes) -> int:
        """Send one request and read its answer whole; its status."""
        if self.streams is None or time.perf_counter() - self.last_used > CLIENT_IDLE_CONNECTION_KEPT_S:
            self.close()
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(request)
        await writer.drain()
        try:
            return await read_response(reader)
        except ConnectionError:
            self.close()
            raise
        finally:
            self.last_used = time.perf_counter()

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


@dataclass
class HttpAnswers:
    """What the requests sent at a rate were answered: each answer's status and time from when it was due."""

    answers: list[tuple[int, float]] = field(default_factory=list)
    """(status, milliseconds) per answered request."""
    unanswered: int = 0
    """Requests the service closed the connection on without an answer."""

    def by_status(self) -> Counter[int]:
        """How many answers came with each status."""
        return Counter(status for status, _ in self.answers)

    def milliseconds(self, status: int | None = None) -> list[float]:
        """Each answer's time, or only those of answers with `status`."""
        return [ms for answered, ms in self.answers if status is None or answered == status]


async def requests_at_rate(host: str, port: int, request: Callable[[], bytes], count: int, rate: float) -> HttpAnswers:
    """`count` requests made by `request` (whole HTTP/1.1 messages) sent at `rate` a second, each on a kept
    connection (at most `HTTP_CONNECTIONS` at once) and timed from the moment it is due until its answer, a
    wait for a free connection included. A request takes the connection freed last, so that at a low rate
    one connection carries them all, as a client's would, rather than each in turn."""
    answered = HttpAnswers()
    idle: list[ServiceConnection] = []
    free = asyncio.Semaphore(HTTP_CONNECTIONS)

    async def send(started: float, message: bytes) -> None:
        async with free:
            service = idle.pop() if idle else ServiceConnection(host, port)
            try:
                status = await service.exchange(message)
            except ConnectionError:
                answered.unanswered += 1
                return
            finally:
                idle.append(service)
        answered.answers.append((status, (time.perf_counter() - started) * 1000))

    sent = []
    began = time.perf_counter()
    for index in range(count):
        message = request()
        sent.append(asyncio.create_task(send(time.perf_counter(), message)))
        delay = began + (index + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.gather(*sent)
    for service in idle:
        service.close()
    return answered


async def run_http_latency(
    url: str, requests: int, rate: float, patients: int, seed: int, seeded: int = 0
) -> BenchResult:
    """`POST /v1/fees` at `rate` requests per second (`requests_at_rate`). The stack must trust the
    development identity header (EFRIKORT_TRUST_IDENTITY_HEADER=true).

    Plain HTTP/1.1 over asyncio streams rather than httpx: at 100 requests/s of answers that take a
    few hundred milliseconds, httpx's connection pool itself capped the rate near 35/s and its queue
    was what the latencies measured."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    people = synthetic_patients(patients, seed, seeded)
    rng = random.Random(seed)
    first_visit = date.today() - timedelta(days=300)
    head = (
        f"POST /v1/fees HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"X-HSA-ID: {BENCH_EMPLOYEE}\r\nX-System-ID: {BENCH_SYSTEM}\r\n"
    )

    def fee_submission() -> bytes:
        body = json.dumps(bench_submission(rng, people, first_visit)).encode()
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    cpu_before = cpu_snapshot()
    began = time.perf_counter()
    answered = await requests_at_rate(host, port, fee_submission, requests, rate)
    statuses = answered.by_status()
    latencies = answered.milliseconds(200)
    cpu = used_between(cpu_before, cpu_snapshot())
    if answered.unanswered:
        print(f"requests the service closed the connection on without an answer: {answered.unanswered}")
    if statuses.keys() != {200}:
        print(f"answers by status: {dict(statuses)} (only 200s, with the amount due, are timed)")
    if not latencies:
        raise SystemExit("no request was answered with the amount due")
    return BenchResult(len(latencies), time.perf_counter() - began, latencies, cpu=cpu)


async def read_response(reader: asyncio.StreamReader) -> int:
    """The status of one HTTP/1.1 response, its body read (the services always send Content-Length); the
    bench's and `docs/performance/http-cost/probe.py`'s one way of reading an answer."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the service closed the connection without answering")
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise SystemExit("the bench reads only responses with Content-Length")
    await reader.readexactly(length)
    return status
