"""A poison message cannot stall its partition, and an outage is waited out, not dead-lettered.

A message whose dead letter is too large for Kafka goes to the DLQ truncated, and the next message is
handled; a message that fails every try while others go through is dead-lettered after its retries;
two that fail every try with nothing going through are taken for an outage; and with the service's
PostgreSQL stopped, the consumer pauses between a bounded number of tries, dead-letters nothing, says
it is not ready, and handles every message exactly once when the database is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from efrikort.infra.postgres import PostgresServer
from efrikort.infra.stack import InfraEndpoints
from runtime.consumers import Delivery, InvalidMessage, Outage
from tests.infra_fixtures import free_ports
from tests.integration.runtime.harness import Attempt, TinyService, headers_of, metric, record_effect
from tests.kafka_clients import eventually, reading

pytestmark = pytest.mark.integration

ALERTS = Path(__file__).resolve().parents[3] / "deploy" / "observability" / "alerts.yml"

BROKER_LIMIT = 1024 * 1024
"""What a producer may send in one request (its `max.request.size`, a little under the broker's
`message.max.bytes`): the test's large message takes nearly all of it."""


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    return {"consumer_outage_backoff_initial_s": 0.2, "consumer_outage_backoff_max_s": 1.0}


async def test_a_message_whose_dead_letter_is_too_large_goes_truncated_and_the_next_message_is_handled(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def rejects(attempt: Attempt) -> None:
        raise InvalidMessage("padding: longer than any submission")

    key = f"patient-{uuid.uuid4().hex}"
    truncated_before = await metric(http, "efrikort_dead_letters_truncated_total", topic=service.input.name)
    # Just under what Kafka takes: it is written and delivered, but with the dead-letter headers
    # added it is more than the producer may send.
    large = await service.send(rejects, key=key, padding=BROKER_LIMIT - 300)
    follower = await service.send(record_effect, key=key)
    assert follower.partition == large.partition and follower.offset == large.offset + 1

    assert await service.wait_for_effects(follower.message_id, timeout=30) == [1]

    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        [dead] = await dlq.wait_for(lambda r: r.key == large.key)
    headers = headers_of(dead)
    kept = service.settings.consumer_dead_letter_value_bytes
    assert dead.value == large.value[:kept]
    assert headers["dlq_truncated"] == "true"
    assert headers["dlq_original_value_bytes"] == str(len(large.value))
    assert headers["dlq_original_value_sha256"] == hashlib.sha256(large.value).hexdigest()
    assert headers["dlq_error"] == "padding: longer than any submission"
    assert headers["dlq_error_type"] == "InvalidMessage"
    assert headers["dlq_write_error"].startswith("MessageSizeTooLargeError")
    assert headers["dlq_original_offset"] == str(large.offset)

    async def counted() -> bool:
        after = await metric(http, "efrikort_dead_letters_truncated_total", topic=service.input.name)
        return after == truncated_before + 1

    assert await eventually(counted, timeout=5, interval=0.05)


async def test_a_dead_letter_refused_even_truncated_is_logged_without_its_content_counted_and_skipped(
    infra: InfraEndpoints, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def rejects(attempt: Attempt) -> None:
        raise InvalidMessage("padding: longer than any submission")

    # Truncated to more than it holds, the dead letter is as large as before: Kafka refuses it twice.
    service = TinyService(infra, tmp_path, consumer_dead_letter_value_bytes=2 * BROKER_LIMIT)
    topic = service.input.name
    key = f"patient-{uuid.uuid4().hex}"
    try:
        async with service.running() as http:
            large = await service.send(rejects, key=key, padding=BROKER_LIMIT - 300)
            follower = await service.send(record_effect, key=key)

            assert await service.wait_for_effects(follower.message_id, timeout=30) == [1]

            async def counted() -> bool:
                return await metric(http, "efrikort_dead_letters_unwritable_total", topic=topic) == 1

            assert await eventually(counted, timeout=5, interval=0.05)
            assert await metric(http, "efrikort_messages_consumed_total", topic=topic, result="dead_letter_failed") == 1
            assert await metric(http, "efrikort_dead_letters_total", topic=topic) == 0
            async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
                await dlq.drain(1.0)
            assert dlq.seen == []
    finally:
        await service.close()
    [logged] = [r for r in caplog.records if "could not be written" in r.getMessage()]
    assert (logged.levelname, getattr(logged, "offset", None)) == ("ERROR", large.offset)
    assert "x" * 64 not in caplog.text, "the message's content was logged"


async def test_a_message_failing_every_try_while_others_go_through_is_dead_lettered_and_its_partition_goes_on(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def always_fails(attempt: Attempt) -> None:
        await attempt.record_effect()
        raise LookupError("no fee version for this message")

    key = f"patient-{uuid.uuid4().hex}"
    outage_tries_before = await metric(
        http, "efrikort_consumer_retries_total", topic=service.input.name, reason="outage"
    )
    poison, *followers = await service.send_together(always_fails, record_effect, record_effect, key=key)

    # The first follower went through, which called for a second hearing of the batch: its effect is its
    # second try's (the first was rolled back with the batch), the second follower's its first.
    assert [await service.wait_for_effects(follower.message_id) for follower in followers] == [[2], [1]]
    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        [dead] = await dlq.wait_for(lambda r: r.key == poison.key)
    headers = headers_of(dead)
    assert headers["dlq_original_offset"] == str(poison.offset)
    assert headers["dlq_error_type"] == "LookupError"
    # Its tries, then one more when the batch was heard again after its followers went through.
    assert headers["dlq_attempts"] == str(service.settings.consumer_max_attempts + 1)
    assert service.attempts[poison.message_id] == 1 + service.settings.consumer_max_attempts + 1
    assert await service.effects(poison.message_id) == [], "a failed try's effect was kept"
    assert [r for r in dlq.seen if r.key == poison.key] == [dead], "the followers were dead-lettered"
    assert (
        await metric(http, "efrikort_consumer_retries_total", topic=service.input.name, reason="outage")
        == outage_tries_before
    ), "a poison message among good ones was taken for an outage"


async def test_messages_whose_statements_postgresql_refuses_are_dead_lettered_however_many_fail_together(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    """An undefined table is refused the same way on every try: waiting it out as an outage would stall the
    partition for ever (seen: a patient exit for a schema without the exit register)."""

    async def refused_statement(attempt: Attempt) -> None:
        await attempt.tx.conn.execute(text("SELECT * FROM no_such_table"))

    key = f"patient-{uuid.uuid4().hex}"
    outage_tries_before = await metric(
        http, "efrikort_consumer_retries_total", topic=service.input.name, reason="outage"
    )
    sent = await service.send_together(refused_statement, refused_statement, key=key)
    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        dead = await dlq.wait_for(lambda r: r.key == key.encode(), count=len(sent))
    assert sorted(int(headers_of(d)["dlq_original_offset"]) for d in dead) == sorted(m.offset for m in sent)
    assert (
        await metric(http, "efrikort_consumer_retries_total", topic=service.input.name, reason="outage")
        == outage_tries_before
    ), "statements PostgreSQL refuses were taken for an outage"
    assert await eventually(lambda: _ready(http), timeout=15, interval=0.1)


async def test_when_every_message_fails_nothing_is_dead_lettered_and_all_are_handled_once_it_works_again(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    """The fault ends between two messages of one round of tries, the worst moment: the first failed its
    last try, the second goes through, and the first looks like poison unless it is heard once more
    (it was dead-lettered so, seen once in CI)."""
    broken = True
    mending = False
    second = ""

    async def fails_while_broken(attempt: Attempt) -> None:
        nonlocal broken
        if mending and attempt.message_id == second:
            broken = False
        await attempt.record_effect()
        if broken:
            raise RuntimeError("the handler's own fault, the same for every message")

    key = f"patient-{uuid.uuid4().hex}"
    sent = await service.send_together(fails_while_broken, fails_while_broken, fails_while_broken, key=key)
    second = sent[1].message_id

    assert await eventually(lambda: _backing_off(http), timeout=15, interval=0.05), (await http.get("/ready")).json()
    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        await dlq.drain(2.0)
        mending = True
        for message in sent:
            effects = await service.wait_for_effects(message.message_id, timeout=15)
            assert effects == [service.attempts[message.message_id]]
        await dlq.drain(1.0)
    assert [r for r in dlq.seen if r.key == key.encode()] == [], "a message was dead-lettered for a fault of all"
    assert await eventually(lambda: _ready(http), timeout=15, interval=0.1)


async def test_a_lone_message_failing_like_the_poll_before_it_waits_with_them_until_one_goes_through(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    """After every message of a poll failed alike the consumer pauses, and its next poll may bring a single
    message: with nothing to compare it with it would count as poison and go to the DLQ, though it fails
    for the fault all share. It waits with them until one goes through; after that a lone failure is poison
    again. (Driven through the running service's processor, so that the polls are exactly these.)"""
    assert service.runtime is not None
    processor = service.runtime.processor
    [consumer] = service.definition().consumers
    broken = True

    async def fails_while_broken(attempt: Attempt) -> None:
        await attempt.record_effect()
        if broken:
            raise RuntimeError("the handler's own fault, the same for every message")

    async def always_fails(attempt: Attempt) -> None:
        raise RuntimeError("this message's own fault")

    def polled(behaviour: object) -> Delivery:
        message_id = uuid.uuid4().hex
        service.behaviours[message_id] = behaviour  # type: ignore[assignment]
        offset = uuid.uuid4().int % 2**40
        return Delivery(service.input.name, 0, offset, message_id.encode(), json.dumps({"id": message_id}).encode(), {})

    with pytest.raises(Outage):
        await processor.process_batch(consumer, [polled(fails_while_broken), polled(fails_while_broken)])
    lone = polled(fails_while_broken)
    with pytest.raises(Outage):
        await processor.process_batch(consumer, [lone])
    broken = False
    await processor.process_batch(consumer, [lone])
    assert await service.effects(json.loads(lone.value)["id"]) != [], "handled once it works again"
    await processor.process_batch(consumer, [polled(always_fails)])  # poison again: dead-lettered, not raised


async def test_a_lone_message_whose_handler_keeps_losing_its_connection_waits_and_is_never_dead_lettered(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    reachable = False

    async def needs_a_server(attempt: Attempt) -> None:
        await attempt.record_effect()
        if not reachable:
            raise ConnectionResetError("the server the handler talks to hung up")

    sent = await service.send(needs_a_server)

    assert await eventually(lambda: _backing_off(http), timeout=15, interval=0.05), (await http.get("/ready")).json()
    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        await dlq.drain(2.0)
        reachable = True
        assert await service.wait_for_effects(sent.message_id, timeout=15) == [service.attempts[sent.message_id]]
        await dlq.drain(0.5)
    assert [r for r in dlq.seen if r.key == sent.key] == [], "a message was dead-lettered for a network error"
    # Tried in place first (a blip may pass), then paused between tries.
    assert service.attempts[sent.message_id] > service.settings.consumer_max_attempts
    assert await eventually(lambda: _ready(http), timeout=15, interval=0.1)


async def _backing_off(http: httpx.AsyncClient) -> bool:
    """Not ready, because a consumer waits out an outage."""
    response = await http.get("/ready")
    return response.status_code == 503 and response.json()["checks"]["consuming"] is False


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/ready")).status_code == 200


@pytest.fixture
async def own_postgres(server_dir: Path) -> AsyncIterator[PostgresServer]:
    """A PostgreSQL of the test's own, to stop and start again without touching the session's."""
    [port] = free_ports(1)
    server = PostgresServer(server_dir / "postgres", port=port)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def test_with_postgresql_stopped_the_consumer_backs_off_dead_letters_nothing_and_handles_all_once_it_is_back(
    infra: InfraEndpoints, own_postgres: PostgresServer, tmp_path: Path
) -> None:
    initial_s, max_s = 0.2, 1.0
    service = TinyService(
        dataclasses.replace(infra, database_url=own_postgres.url),
        tmp_path,
        consumer_outage_backoff_initial_s=initial_s,
        consumer_outage_backoff_max_s=max_s,
    )
    topic = service.input.name
    try:
        async with service.running() as http:
            warm = await service.send()
            assert await service.wait_for_effects(warm.message_id) == [1]

            await asyncio.to_thread(own_postgres.stop)
            tries_before = await metric(http, "efrikort_consumer_retries_total", topic=topic, reason="outage")
            started = time.monotonic()
            sent = [await service.send(partition=n % 3) for n in range(6)]

            async def paused() -> bool:
                return await metric(http, "efrikort_consumer_paused_partitions", topic=topic) > 0

            assert await eventually(paused, timeout=15, interval=0.02), "the consumer did not pause its partitions"
            ready = await http.get("/ready")
            assert ready.status_code == 503 and ready.json()["checks"]["consuming"] is False
            async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
                await dlq.drain(6.0)
            tries = await metric(http, "efrikort_consumer_retries_total", topic=topic, reason="outage") - tries_before
            elapsed = time.monotonic() - started
            assert await metric(http, "efrikort_consumer_backoff_seconds", topic=topic) > 0
            assert dlq.seen == [], "a message was dead-lettered because the database was down"

            await asyncio.to_thread(own_postgres.start)
            await service.forget_db_connection()
            for message in sent:
                # Once each, whatever its try: the handler's first statement may have been the poll's first,
                # and failed as the database was down.
                assert len(await service.wait_for_effects(message.message_id, timeout=30)) == 1
            assert await eventually(lambda: _ready(http), timeout=15, interval=0.1)
            assert await metric(http, "efrikort_consumer_paused_partitions", topic=topic) == 0
            assert await metric(http, "efrikort_consumer_backoff_seconds", topic=topic) == 0
    finally:
        await asyncio.to_thread(own_postgres.start)
        await service.forget_db_connection()
        await service.close()

    # Each pause lasts at least half its nominal length (initial_s doubled per try, up to max_s); a
    # consumer that spun would have tried hundreds of times. Twice the tries that fit, and two spare
    # for a rebalance's unpaused fetch.
    fitting, waited = 0, 0.0
    while waited <= elapsed:
        fitting += 1
        waited += min(max_s, initial_s * 2 ** (fitting - 1)) / 2
    assert 1 <= tries <= 2 * fitting + 2, f"{tries} tries in {elapsed:.1f} s"


async def test_the_alert_rules_name_metrics_the_service_exposes(http: httpx.AsyncClient) -> None:
    exposed = (await http.get("/metrics")).text
    named = set(re.findall(r"\befrikort_[a-z_]+", ALERTS.read_text()))
    assert named, "no efrikort metric in the alert rules"
    assert {name for name in named if name not in exposed} == set()
