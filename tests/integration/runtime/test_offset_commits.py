"""Offsets are committed now and then, not after every poll (`runtime.offsets`): the inbox, not the
offset, is what keeps a message from being handled twice. What a consumer handled is committed within
the commit interval while it runs, before another member takes its partitions, and when it stops;
never what it has only fetched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from efrikort.infra.stack import InfraEndpoints
from tests.integration.runtime.harness import Attempt, Sent, TinyService, metric
from tests.kafka_clients import eventually

pytestmark = pytest.mark.integration

A_LONG_TIME_S = 600.0
"""A commit interval no test outlasts: whatever is committed was committed for another reason."""


@pytest.fixture
async def tiny(infra: InfraEndpoints, tmp_path: Path) -> AsyncIterator[TinyService]:
    service = TinyService(infra, tmp_path, consumer_commit_interval_s=A_LONG_TIME_S)
    try:
        yield service
    finally:
        await service.close()


def just_past(sent: list[Sent], input_topic: str) -> dict[TopicPartition, int]:
    """Each partition's offset just past the last of these messages on it."""
    return {
        TopicPartition(input_topic, p): max(s.offset for s in sent if s.partition == p) + 1
        for p in {s.partition for s in sent}
    }


async def test_what_a_running_consumer_handled_is_committed_within_the_interval(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    tiny = TinyService(infra, tmp_path, consumer_commit_interval_s=0.2)
    try:
        async with tiny.running():
            handled = [await tiny.send(partition=p) for p in range(3)]
            for sent in handled:
                assert await tiny.wait_for_effects(sent.message_id) == [1]

            # The consumer is idle now: its last poll is committed all the same, by the timer.
            async def committed() -> bool:
                return await tiny.committed_offsets() == just_past(handled, tiny.input.name)

            assert await eventually(committed, timeout=15, interval=0.1)
    finally:
        await tiny.close()


async def test_a_handled_message_waits_for_the_interval_and_a_graceful_stop_commits_it(tiny: TinyService) -> None:
    async with tiny.running():
        handled = [await tiny.send(partition=p) for p in range(3)]
        for sent in handled:
            assert await tiny.wait_for_effects(sent.message_id) == [1]
        await asyncio.sleep(1.0)
        # Not after the poll: the interval has not passed.
        assert await tiny.committed_offsets() == {}

    assert await tiny.committed_offsets() == just_past(handled, tiny.input.name)


async def test_a_message_still_in_its_handler_is_not_committed_by_a_commit_of_what_came_before(
    tiny: TinyService,
) -> None:
    release = asyncio.Event()
    in_handler = asyncio.Event()

    async def held(attempt: Attempt) -> None:
        in_handler.set()
        await release.wait()
        await attempt.record_effect()

    async with tiny.running() as http:
        first = await tiny.send(partition=0)
        assert await tiny.wait_for_effects(first.message_id) == [1]
        blocked = await tiny.send(held, partition=0)
        await asyncio.wait_for(in_handler.wait(), timeout=15)
        # A commit while the second message is fetched but not handled: only the first one counts.
        runtime = tiny.runtime
        assert runtime is not None
        await runtime.commit_offsets()
        assert await tiny.committed_offsets() == just_past([first], tiny.input.name)
        release.set()
        assert await tiny.wait_for_effects(blocked.message_id) == [1]
        assert await metric(http, "efrikort_consumer_offset_commit_failures_total", topic=tiny.input.name) == 0

    assert await tiny.committed_offsets() == just_past([first, blocked], tiny.input.name)


async def test_a_member_whose_partitions_are_taken_commits_them_first_so_the_next_one_repeats_nothing(
    tiny: TinyService,
) -> None:
    async with tiny.running() as first_instance:
        handled = [await tiny.send(partition=p) for p in range(3) for _ in range(2)]
        for sent in handled:
            assert await tiny.wait_for_effects(sent.message_id) == [1]
        duplicates_before = await metric(first_instance, "efrikort_duplicate_messages_total", topic=tiny.input.name)

        # A second member joins: the group rebalances and takes partitions from the first, which had
        # committed nothing yet (the interval is long). It commits them as they are taken.
        async with tiny.running():
            markers = [await tiny.send(partition=p) for p in range(3)]
            for marker in markers:
                assert await tiny.wait_for_effects(marker.message_id) == [1]
            duplicates_after = await metric(first_instance, "efrikort_duplicate_messages_total", topic=tiny.input.name)

    assert duplicates_after == duplicates_before, "a member was given messages the other had handled"
    for sent in handled:
        assert tiny.attempts[sent.message_id] == 1
