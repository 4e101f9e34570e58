"""Consuming: a failing handler is retried, a hopeless message goes to its dead-letter topic with
the reason and the consumer carries on, and a message delivered twice has one effect."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from runtime.consumers import InvalidMessage
from tests.integration.runtime.harness import Attempt, TinyService, headers_of, metric, record_effect
from tests.kafka_clients import eventually, reading

pytestmark = pytest.mark.integration


class FlakyDependency(Exception):
    """Stands for a timeout or a lost connection: worth trying again."""


async def test_a_handler_that_fails_twice_is_retried_and_leaves_exactly_one_effect(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def fails_twice(attempt: Attempt) -> None:
        # The effect is written before the failure, so it only survives if the rollback fails.
        await attempt.record_effect()
        if attempt.number <= 2:
            raise FlakyDependency(f"attempt {attempt.number} timed out")

    sent = await service.send(fails_twice)

    # One effect, from the third attempt: the first two were rolled back, inbox entry included
    # (had it stayed, the third attempt would have been taken for a duplicate and skipped).
    assert await service.wait_for_effects(sent.message_id) == [3]
    assert service.attempts[sent.message_id] == 3

    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        await dlq.drain(0.5)
    assert [r for r in dlq.seen if r.key == sent.key] == [], "a message that succeeded on retry was dead-lettered"


async def test_a_handler_that_always_fails_dead_letters_the_message_with_the_reason_and_the_next_one_goes_on(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def always_fails(attempt: Attempt) -> None:
        await attempt.record_effect()
        raise LookupError(f"no fee version for {attempt.message_id}")

    key = f"patient-{uuid.uuid4().hex}"
    correlation = f"corr-{uuid.uuid4().hex}"
    failing = await service.send(always_fails, key=key, headers={"correlation_id": correlation})
    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        [dead] = await dlq.wait_for(lambda r: r.key == failing.key)
    # Same key, so same partition, behind it: a poison message does not block its partition. (Sent after
    # the dead letter, so that they come in two polls: one poll would hear the poison once more.)
    follower = await service.send(record_effect, key=key)
    assert follower.partition == failing.partition

    headers = headers_of(dead)
    assert headers["dlq_error"] == f"no fee version for {failing.message_id}"
    assert headers["dlq_error_type"] == "LookupError"
    assert headers["dlq_original_topic"] == service.input.name
    assert headers["dlq_original_partition"] == str(failing.partition)
    assert headers["dlq_original_offset"] == str(failing.offset)
    assert headers["dlq_attempts"] == str(service.settings.consumer_max_attempts) == "3"
    assert headers["dlq_consumer_group"] == service.name
    # The message itself travels unchanged, its own headers kept, so it can be replayed as it was.
    assert dead.value == failing.value
    assert headers["correlation_id"] == correlation

    # Once with its whole batch, then alone up to the bounded number of attempts.
    assert service.attempts[failing.message_id] == 1 + 3
    assert await service.wait_for_effects(follower.message_id) == [1]
    assert await service.effects(failing.message_id) == [], "a failed attempt's effect was kept"


async def test_a_poll_is_heard_first_as_a_whole_and_after_a_failure_each_message_alone_as_its_last_hearing(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    hearings: list[bool] = []

    async def refused_on_the_first_hearing(attempt: Attempt) -> None:
        # A handler may let a failure it would answer rise on the poll's first hearing, and answer it
        # when the message is heard alone: the runtime must hear it alone after such a failure.
        hearings.append(attempt.tx.first_hearing)
        if attempt.tx.first_hearing:
            raise FlakyDependency("refused in the poll's first hearing")
        await attempt.record_effect()

    sent = await service.send(refused_on_the_first_hearing)

    assert await service.wait_for_effects(sent.message_id) == [2]
    assert hearings == [True, False]


async def test_an_invalid_message_goes_to_the_dead_letter_topic_at_once(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    async def rejects(attempt: Attempt) -> None:
        await attempt.record_effect()
        raise InvalidMessage("payload.visit_date: Input should be a valid date")

    before = await metric(http, "efrikort_dead_letters_total", topic=service.input.name)
    sent = await service.send(rejects)

    async with reading(infra.kafka_bootstrap_servers, service.input.dead_letter.name) as dlq:
        [dead] = await dlq.wait_for(lambda r: r.key == sent.key)

    headers = headers_of(dead)
    # No retry can fix an invalid message: once with its batch, once alone, then the dead-letter topic.
    assert headers["dlq_attempts"] == "1"
    assert service.attempts[sent.message_id] == 2
    assert headers["dlq_error_type"] == "InvalidMessage"
    assert headers["dlq_error"] == "payload.visit_date: Input should be a valid date"
    assert await service.effects(sent.message_id) == []

    async def counted() -> bool:
        return await metric(http, "efrikort_dead_letters_total", topic=service.input.name) == before + 1

    assert await eventually(counted, timeout=5, interval=0.05)


async def records_and_emits(attempt: Attempt) -> None:
    await attempt.record_effect()
    await attempt.emit()


async def test_the_same_event_delivered_twice_has_one_effect_and_is_counted_as_a_duplicate(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    duplicates_before = await metric(http, "efrikort_duplicate_messages_total", topic=service.input.name)
    event_id = str(uuid.uuid4())
    message_id = uuid.uuid4().hex

    async with reading(infra.kafka_bootstrap_servers, service.output.name) as output:
        # The same bytes with the same event id, twice: what a producer's retry or a replay looks like.
        first = await service.send(records_and_emits, message_id=message_id, headers={"event_id": event_id})
        second = await service.send(records_and_emits, message_id=message_id, headers={"event_id": event_id})
        assert (first.value, first.key) == (second.value, second.key)
        assert first.offset != second.offset

        async def duplicate_counted() -> bool:
            after = await metric(http, "efrikort_duplicate_messages_total", topic=service.input.name)
            return after == duplicates_before + 1

        assert await eventually(duplicate_counted, timeout=15, interval=0.05)
        await output.drain(0.5)
    assert await service.effects(message_id) == [1]
    # The redelivery is found when the poll's messages are taken in, with the outbox's write: what its
    # handling wrote and emitted then is rolled back, and the poll heard again with the inbox asked first.
    assert [r for r in output.seen if message_id.encode() in r.value] != [], "the first delivery emitted nothing"
    assert len([r for r in output.seen if message_id.encode() in r.value]) == 1, "the redelivery emitted again"


async def test_a_poll_of_new_messages_is_taken_in_by_the_outbox_statement_with_no_inbox_statement_of_its_own(
    service: TinyService, db: asyncpg.Connection
) -> None:
    """Asking the inbox first was a round trip of its own on every poll, on every message's way."""
    role = f"efrikort_{service.name}"
    await db.execute("SELECT pg_stat_statements_reset()")
    sent = await service.send(records_and_emits)
    assert await service.wait_for_effects(sent.message_id) == [1]
    calls = {
        row["query"]: row["calls"]
        for row in await db.fetch(
            "SELECT query, calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "WHERE r.rolname = $1 AND query LIKE '%INSERT INTO inbox%'",
            role,
        )
    }
    assert [query for query in calls if "INSERT INTO outbox" in query], calls
    assert [query for query in calls if "INSERT INTO outbox" not in query] == [], "the inbox was asked first"


async def test_different_events_with_the_same_content_are_each_handled(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    # The inbox tells messages apart by event id, not by content: two fees of the same amount
    # for the same patient on the same day are two fees.
    message_id = uuid.uuid4().hex
    await service.send(record_effect, message_id=message_id, headers={"event_id": str(uuid.uuid4())})
    await service.send(record_effect, message_id=message_id, headers={"event_id": str(uuid.uuid4())})

    async def both_handled() -> bool:
        return len(await service.effects(message_id)) == 2

    assert await eventually(both_handled, timeout=15, interval=0.05)
