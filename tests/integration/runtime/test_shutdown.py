"""Shutting down gracefully (what SIGTERM does: leave the FastAPI lifespan) loses nothing and
repeats nothing: what was handled is committed, so the next instance starts after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from efrikort.infra.stack import InfraEndpoints
from tests.integration.runtime.harness import Attempt, TinyService, metric

pytestmark = pytest.mark.integration


@pytest.fixture
async def tiny(infra: InfraEndpoints, tmp_path: Path) -> AsyncIterator[TinyService]:
    """A service of the test's own: each test here starts and stops instances of it itself."""
    service = TinyService(infra, tmp_path)
    try:
        yield service
    finally:
        await service.close()


async def test_after_a_graceful_shutdown_a_new_instance_does_not_handle_the_messages_again(tiny: TinyService) -> None:
    async with tiny.running():
        handled = [await tiny.send(partition=p) for p in range(3) for _ in range(2)]
        for sent in handled:
            assert await tiny.wait_for_effects(sent.message_id) == [1]

    # The instance is gone; its group's committed offsets are just past the last message handled.
    assert await tiny.committed_offsets() == {
        TopicPartition(tiny.input.name, p): max(s.offset for s in handled if s.partition == p) + 1 for p in range(3)
    }

    async with tiny.running() as http:
        duplicates_before = await metric(http, "efrikort_duplicate_messages_total", topic=tiny.input.name)
        # One message per partition after the restart: once each is handled, everything before it
        # on its partition has been seen by the new instance, had it been redelivered.
        markers = [await tiny.send(partition=p) for p in range(3)]
        for marker in markers:
            assert await tiny.wait_for_effects(marker.message_id) == [1]
        duplicates_after = await metric(http, "efrikort_duplicate_messages_total", topic=tiny.input.name)

    assert duplicates_after == duplicates_before, "the new instance was given messages already handled"
    for sent in handled:
        assert tiny.attempts[sent.message_id] == 1
        assert await tiny.effects(sent.message_id) == [1]


async def test_a_message_in_flight_at_shutdown_is_finished_and_committed_before_the_instance_stops(
    tiny: TinyService,
) -> None:
    in_handler = asyncio.Event()

    async def slow(attempt: Attempt) -> None:
        in_handler.set()
        # Long enough for the shutdown to begin while the transaction is still open, well within
        # the broker's graceful timeout.
        await asyncio.sleep(0.5)
        await attempt.record_effect()

    async with tiny.running():
        in_flight = await tiny.send(slow)
        await asyncio.wait_for(in_handler.wait(), timeout=15)

    # The stopping instance let the handler finish, then committed the offset past it.
    assert await tiny.effects(in_flight.message_id) == [1]
    committed = await tiny.committed_offsets()
    assert committed[TopicPartition(tiny.input.name, in_flight.partition)] == in_flight.offset + 1

    async with tiny.running() as http:
        duplicates_before = await metric(http, "efrikort_duplicate_messages_total", topic=tiny.input.name)
        marker = await tiny.send(partition=in_flight.partition)
        assert await tiny.wait_for_effects(marker.message_id) == [1]
        duplicates_after = await metric(http, "efrikort_duplicate_messages_total", topic=tiny.input.name)

    assert duplicates_after == duplicates_before
    assert tiny.attempts[in_flight.message_id] == 1
    assert await tiny.effects(in_flight.message_id) == [1]
