"""The runtime's batch subscribers poll again at once after an empty poll (`runtime.polling`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from runtime.polling import PromptBatchSubscriber, prompt


class _IdleThenOneRecord:
    """Stands in for aiokafka's consumer in `get_msg` only: an empty poll, then one record."""

    def __init__(self) -> None:
        self.polls = 0

    async def getmany(self, *, timeout_ms: int, max_records: int | None) -> dict[Any, list[str]]:
        self.polls += 1
        return {} if self.polls == 1 else {"tp": ["record"]}


async def test_an_empty_poll_returns_at_once_and_the_next_poll_gets_the_record() -> None:
    broker = KafkaBroker("127.0.0.1:1")
    subscriber = prompt(broker.subscriber("t", batch=True, batch_timeout_ms=60_000))
    consumer = _IdleThenOneRecord()
    # FastStream's own would sleep its whole batch timeout (a minute here) after the empty poll.
    assert await asyncio.wait_for(subscriber.get_msg(consumer), timeout=5) == ()  # type: ignore[arg-type]
    assert await asyncio.wait_for(subscriber.get_msg(consumer), timeout=5) == ("record",)  # type: ignore[arg-type]
    assert type(subscriber) is PromptBatchSubscriber


def test_only_faststreams_batch_subscriber_is_made_prompt() -> None:
    broker = KafkaBroker("127.0.0.1:1")
    with pytest.raises(TypeError):
        prompt(broker.subscriber("t"))
