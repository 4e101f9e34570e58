"""`efrikort dlq list|show|replay`: the dead-letter topics, read and replayed by an operator as the admin user.

A dead letter is the message as it came (key, value, its own headers) plus the `dlq_*` headers the
runtime adds (`runtime.consumers.MessageProcessor.dead_letter`): the error, the consumer group, the
original topic, partition and offset, the attempts, when; a truncated one also `dlq_truncated`,
`dlq_original_value_bytes`, `dlq_original_value_sha256`, `dlq_write_error` and perhaps
`dlq_original_headers_dropped` and `dlq_original_key_sha256`.

The value is never printed unless asked for: it may hold an identity number.

Replaying sends a dead letter back to its original topic (key, value and the original headers, and
`dlq_replayed_from` naming the dead letter), keyed as before so it lands on the same partition. It
happens once: each replay is recorded in PostgreSQL (`efrikort_operations.dead_letters_replayed`, in the
same transaction that waits for Kafka's acknowledgement), and a dead letter recorded there is not sent
again. Behind that record the consumers' inbox stands too: an event of our own keeps its `event_id`
header, so even a replay sent twice is handled once. A truncated dead letter is never replayed: its
value is not the message; the whole message is still on its original topic, at the offset the headers
name, until the topic's retention removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from efrikort.infra.stack import InfraEndpoints
from runtime.partitioner import default_partitioner

DLQ_SUFFIX = ".dlq"
DLQ_HEADER_PREFIX = "dlq_"
REPLAYED_FROM_HEADER = "dlq_replayed_from"
"""On a replayed message: the dead letter it came from (`<dlq topic>/<partition>/<offset>`)."""
OUR_HEADERS = frozenset({"event_id", "event_type", "schema_version", "producer", "correlation_id", "causation_id"})
"""Headers our own producers set, shown as they are; any other (an outside sender's) by its size only, since
what a sender put there is unknown."""
VALUE_WARNING = (
    "warning: the value is the message as it was sent and may hold an identity number (personnummer): "
    "do not copy it into tickets, chats or logs"
)

REPLAYS_TABLE = """
CREATE SCHEMA IF NOT EXISTS efrikort_operations;
CREATE TABLE IF NOT EXISTS efrikort_operations.dead_letters_replayed (
    dead_letter_topic text NOT NULL,
    dead_letter_partition integer NOT NULL,
    dead_letter_offset bigint NOT NULL,
    replayed_to_topic text NOT NULL,
    replayed_to_partition integer,
    replayed_to_offset bigint,
    replayed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dead_letter_topic, dead_letter_partition, dead_letter_offset)
);
"""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
        return cls(
            record.topic, record.partition, record.offset, record.key, record.value or b"", tuple(record.headers)
        )

    @property
    def coordinates(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    @property
    def about(self) -> dict[str, str]:
        """The `dlq_*` headers the runtime wrote: why and from where."""
        return {
            name: value.decode("utf-8", "replace") for name, value in self.headers if name.startswith(DLQ_HEADER_PREFIX)
        }

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(name, value) for name, value in self.headers if not name.startswith(DLQ_HEADER_PREFIX)]

    @property
    def truncated(self) -> bool:
        return self.about.get("dlq_truncated") == "true"

    @property
    def original_topic(self) -> str | None:
        return self.about.get("dlq_original_topic")


@dataclass(frozen=True)
class TopicCount:
    topic: str
    dead_letters: int
    replayed: int


@dataclass(frozen=True)
class Replay:
    """What became of one dead letter asked to be replayed."""

    dead_letter: DeadLetter
    outcome: str
    """`replayed`, `already_replayed`, `truncated` or `no_original_topic`."""
    detail: str = ""


async def dead_letter_topics(endpoints: InfraEndpoints) -> list[str]:
    async with endpoints.admin_client() as admin:
        return sorted(name for name in await admin.list_topics() if name.endswith(DLQ_SUFFIX))


async def counts(endpoints: InfraEndpoints) -> list[TopicCount]:
    """Every dead-letter topic, how many dead letters it holds and how many of them were replayed."""
    topics = await dead_letter_topics(endpoints)
    replayed = await _replayed_per_topic(endpoints.database_url)
    consumer = _consumer(endpoints)
    await consumer.start()
    try:
        found = []
        for topic in topics:
            partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(endpoints, topic))]
            first, end = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
            found.append(TopicCount(topic, sum(end[tp] - first[tp] for tp in partitions), replayed.get(topic, 0)))
        return found
    finally:
        await consumer.stop()


async def read(endpoints: InfraEndpoints, topic: str, wanted: tuple[int, int] | None = None) -> list[DeadLetter]:
    """The dead letters of `topic`, or only the one at (partition, offset)."""
    if not topic.endswith(DLQ_SUFFIX):
        raise ValueError(f"{topic} is not a dead-letter topic (they end in {DLQ_SUFFIX})")
    known = await _partitions(endpoints, topic)
    if not known:
        raise ValueError(f"no topic {topic} (or this login may not see it)")
    consumer = _consumer(endpoints)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(known) if wanted is None or p == wanted[0]]
        first, end = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        letters: list[DeadLetter] = []
        for tp in partitions:
            start, stop = (wanted[1], wanted[1] + 1) if wanted else (first[tp], end[tp])
            if start < first[tp] or stop > end[tp]:
                raise ValueError(f"{topic} partition {tp.partition} holds offsets {first[tp]} to {end[tp] - 1} only")
            letters += await _read_range(consumer, tp, start, stop)
        return letters
    finally:
        await consumer.stop()


async def _partitions(endpoints: InfraEndpoints, topic: str) -> list[int]:
    async with endpoints.admin_client() as admin:
        described = await admin.describe_topics([topic])
    return [p["partition"] for t in described if t["error_code"] == 0 for p in t["partitions"]]


async def _read_range(consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, stop: int) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    if start >= stop:
        return letters
    consumer.seek(tp, start)
    while True:
        for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
            if record.offset >= stop:
                return letters
            letters.append(DeadLetter.of(record))
            if record.offset == stop - 1:
                return letters


async def replay(endpoints: InfraEndpoints, letters: Sequence[DeadLetter]) -> list[Replay]:
    """Each dead letter back to its original topic, once; what became of each."""
    conn = await asyncpg.connect(endpoints.database_url)
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        partitioner=default_partitioner,
        **endpoints.admin_options(),
    )
    await producer.start()
    try:
        await conn.execute(REPLAYS_TABLE)
        return [await _replay_one(conn, producer, letter) for letter in letters]
    finally:
        await producer.stop()
        await conn.close()


async def _replay_one(conn: asyncpg.Connection, producer: AIOKafkaProducer, letter: DeadLetter) -> Replay:
    target = letter.original_topic
    if target is None:
        return Replay(letter, "no_original_topic", "it has no dlq_original_topic header: not a dead letter of ours")
    if letter.truncated:
        return Replay(
            letter,
            "truncated",
            f"only {len(letter.value)} of its {letter.about.get('dlq_original_value_bytes', '?')} bytes were kept; "
            f"the whole message is on {target} partition {letter.about.get('dlq_original_partition')} "
            f"offset {letter.about.get('dlq_original_offset')} until its retention ends",
        )
    async with conn.transaction():
        claimed = await conn.fetchval(
            "INSERT INTO efrikort_operations.dead_letters_replayed"
            " (dead_letter_topic, dead_letter_partition, dead_letter_offset, replayed_to_topic)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            letter.topic,
            letter.partition,
            letter.offset,
            target,
        )
        if not claimed:
            return Replay(letter, "already_replayed")
        headers = [*letter.original_headers, (REPLAYED_FROM_HEADER, letter.coordinates.encode())]
        sent = await producer.send_and_wait(target, letter.value, key=letter.key, headers=headers)
        await conn.execute(
            "UPDATE efrikort_operations.dead_letters_replayed SET replayed_to_partition = $4, replayed_to_offset = $5"
            " WHERE dead_letter_topic = $1 AND dead_letter_partition = $2 AND dead_letter_offset = $3",
            letter.topic,
            letter.partition,
            letter.offset,
            sent.partition,
            sent.offset,
        )
    return Replay(letter, "replayed", f"to {target} partition {sent.partition} offset {sent.offset}")


async def _replayed_per_topic(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(REPLAYS_TABLE)
        rows = await conn.fetch(
            "SELECT dead_letter_topic, count(*) AS n FROM efrikort_operations.dead_letters_replayed GROUP BY 1"
        )
        return {row["dead_letter_topic"]: row["n"] for row in rows}
    finally:
        await conn.close()


def _consumer(endpoints: InfraEndpoints) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=endpoints.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        **endpoints.admin_options(),
    )


def describe(letter: DeadLetter, *, with_value: bool = False) -> list[str]:
    """What `show` prints: coordinates, key, the runtime's headers, the original headers (an outside sender's
    by size), the value's size; the value and every header in full only `with_value`."""
    key = letter.key.decode("utf-8", "replace") if letter.key is not None else "-"
    lines = [f"dead letter {letter.coordinates}", f"  key: {key}"]
    lines += [f"  {name}: {value}" for name, value in sorted(letter.about.items())]
    lines += [
        f"  header {name}: "
        + (value.decode("utf-8", "replace") if name in OUR_HEADERS or with_value else f"({len(value)} bytes)")
        for name, value in letter.original_headers
    ]
    lines.append(f"  value: {len(letter.value)} bytes" + ("" if with_value else " (not shown; --value shows it)"))
    if with_value:
        lines.append(letter.value.decode("utf-8", "replace"))
    return lines
