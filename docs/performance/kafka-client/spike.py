"""What the Kafka client costs here: aiokafka (pure Python over asyncio) against confluent-kafka (librdkafka,
C, threads of its own), on the running stack's broker, as the bench's raw floor carries a message: two
echoes, each consuming and producing on (acks=all, idempotent, waiting for the acknowledgement per poll as
the outbox relay does per batch), in a process of their own. The sender and the receiver are this process,
plain aiokafka, the same for every client. Prints the latency, the echo process's CPU and the broker's per
message.

Clients (the first argument):
- `aio`: aiokafka on uvloop, the bench's floor's own echo (`efrikort.bench_floor.echo`);
- `ck-asyncio`: librdkafka as a service on asyncio would have to use it: a thread polls each consumer and
  hands each poll to the event loop, which produces without blocking and awaits the acknowledgements that
  a second thread, serving the producer's delivery reports, resolves on the loop;
- `ck`: librdkafka with no event loop at all, a blocking thread per echo (what the library costs alone).

Run by `run.sh` beside it, which installs confluent-kafka where the project's environment does not see it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from efrikort.bench_cpu import PROC, process_ticks
from efrikort.bench_floor import FLOOR_PARTITIONS, FLOOR_TOPICS, ensure_floor_topics
from efrikort.bench_floor import echo as echo_aiokafka
from efrikort.infra import LocalInfra
from efrikort.kafka_principals import admin_client_options

BOOTSTRAP = "127.0.0.1:9092"
ECHOES = tuple(itertools.pairwise(FLOOR_TOPICS))


def librdkafka_config() -> dict[str, object]:
    """The local stack's admin principal, as `var/credentials/*.kcat.conf` write a system's."""
    kafka = LocalInfra().kafka
    return {
        "bootstrap.servers": BOOTSTRAP,
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": kafka.admin.username,
        "sasl.password": kafka.admin.password,
        "ssl.ca.location": str(kafka.ca_file),
    }


def librdkafka_pair(source: str) -> tuple[Any, Any]:
    from confluent_kafka import OFFSET_END, Consumer, Producer
    from confluent_kafka import TopicPartition as LibrdkafkaPartition

    config = librdkafka_config()
    consumer = Consumer(
        {
            **config,
            "group.id": f"kafka-client-spike-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 500,
            "fetch.min.bytes": 1,
        }
    )
    producer = Producer({**config, "acks": "all", "enable.idempotence": True, "linger.ms": 0})
    consumer.assign([LibrdkafkaPartition(source, p, OFFSET_END) for p in range(FLOOR_PARTITIONS)])
    consumer.consume(num_messages=1, timeout=2.0)
    return consumer, producer


def poll_of(consumer: Any) -> list[Any]:
    """What one poll holds: the first message as soon as there is one, then whatever else is there."""
    first = consumer.poll(0.5)
    if first is None:
        return []
    return [m for m in [first, *consumer.consume(num_messages=500, timeout=0)] if not m.error()]


def echo_librdkafka_blocking(source: str, target: str, ready: threading.Event) -> None:
    consumer, producer = librdkafka_pair(source)
    ready.set()
    while True:
        for message in poll_of(consumer):
            producer.produce(target, message.value(), key=message.key(), partition=message.partition())
        producer.flush()


async def echo_librdkafka_asyncio(_bootstrap: str, source: str, target: str, ready: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    consumer, producer = librdkafka_pair(source)
    polls: asyncio.Queue[list[Any]] = asyncio.Queue()

    def read() -> None:
        while True:
            if batch := poll_of(consumer):
                loop.call_soon_threadsafe(polls.put_nowait, batch)

    def serve_deliveries() -> None:
        while True:
            producer.poll(0.5)

    threading.Thread(target=read, daemon=True).start()
    threading.Thread(target=serve_deliveries, daemon=True).start()
    ready.set()
    while True:
        acks = []
        for message in await polls.get():
            ack: asyncio.Future[None] = loop.create_future()

            def delivered(_error: object, _message: object, ack: asyncio.Future[None] = ack) -> None:
                loop.call_soon_threadsafe(ack.set_result, None)

            producer.produce(
                target, message.value(), key=message.key(), partition=message.partition(), on_delivery=delivered
            )
            acks.append(ack)
        await asyncio.gather(*acks)


def run_echoes(client: str) -> None:
    if client == "ck":
        readies = [threading.Event() for _ in ECHOES]
        for (source, target), ready in zip(ECHOES, readies, strict=True):
            threading.Thread(target=echo_librdkafka_blocking, args=(source, target, ready), daemon=True).start()
        for ready in readies:
            ready.wait()
        print("ready", flush=True)
        threading.Event().wait()

    async def on_the_loop() -> None:
        echo = echo_librdkafka_asyncio if client == "ck-asyncio" else echo_aiokafka
        loop_readies = [asyncio.Event() for _ in ECHOES]
        tasks = [asyncio.create_task(echo(BOOTSTRAP, s, t, r)) for (s, t), r in zip(ECHOES, loop_readies, strict=True)]
        for loop_ready in loop_readies:
            await loop_ready.wait()
        print("ready", flush=True)
        await asyncio.gather(*tasks)

    uvloop.run(on_the_loop())


def cpu_seconds(pid: int) -> float:
    return process_ticks((PROC / str(pid) / "stat").read_text()) / os.sysconf("SC_CLK_TCK")


async def drive(echoes_pid: int, broker_pid: int, rate: int, count: int) -> str:
    await ensure_floor_topics(BOOTSTRAP)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=0, **admin_client_options())
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=None, **admin_client_options())
    await producer.start()
    await consumer.start()
    out = [TopicPartition(FLOOR_TOPICS[-1], p) for p in range(FLOOR_PARTITIONS)]
    consumer.assign(out)
    await consumer.seek_to_end(*out)
    for tp in out:
        await consumer.position(tp)
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < count:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                latencies.extend((time.monotonic() - sent_at[r.key]) * 1000 for r in records if r.key in sent_at)

    receiving = asyncio.create_task(receive())
    echoes_before, broker_before, began = cpu_seconds(echoes_pid), cpu_seconds(broker_pid), time.monotonic()
    for index in range(count):
        delay = began + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        key = uuid.uuid4().bytes
        sent_at[key] = time.monotonic()
        await producer.send(FLOOR_TOPICS[0], b"x" * 700, key=key)
    await asyncio.wait_for(receiving, 60)
    echoes_used, broker_used = cpu_seconds(echoes_pid) - echoes_before, cpu_seconds(broker_pid) - broker_before
    seconds = time.monotonic() - began
    await producer.stop()
    await consumer.stop()
    cuts = statistics.quantiles(latencies, n=100)
    return (
        f"{count} at {rate}/s: p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms; the echoes {echoes_used:.2f} s of CPU "
        f"({echoes_used / seconds:.2f} cores), {1000 * echoes_used / count:.3f} ms per message; "
        f"the broker {1000 * broker_used / count:.3f} ms per message"
    )


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        run_echoes(sys.argv[2])
    else:
        client, rate, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        found = subprocess.run(["pgrep", "-f", "kafka.Kafka"], capture_output=True, text=True, check=True)
        broker_pid = int(found.stdout.split()[0])
        echoes = subprocess.Popen([sys.executable, __file__, "echo", client], stdout=subprocess.PIPE, text=True)
        assert echoes.stdout is not None
        echoes.stdout.readline()
        time.sleep(1)
        try:
            print(f"{client:<10}", asyncio.run(drive(echoes.pid, broker_pid, rate, count)), flush=True)
        finally:
            echoes.kill()
