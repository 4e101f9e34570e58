"""An idle consumer answers a lone message without first sitting out a batch timeout.

FastStream's batch subscriber sleeps its `batch_timeout_ms` after every empty poll; a message that
arrived meanwhile waited for the sleep to end, so the quieter the topic the slower the answer. The
runtime's subscribers poll again at once (`runtime.polling`). How long it takes is measured by the
bench (`efrikort bench --curve`), not asserted here: this pins what the latency relies on.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from runtime.polling import POLL_TIMEOUT_MS, PromptBatchSubscriber
from tests.integration.runtime.harness import TinyService

pytestmark = pytest.mark.integration


async def test_every_consumer_of_the_runtime_polls_again_at_once_after_an_empty_poll(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    assert service.runtime is not None
    subscribers = [subscriber for subscriber, _ in service.runtime._subscribers]
    assert subscribers, "the service has no consumer"
    assert all(type(subscriber) is PromptBatchSubscriber for subscriber in subscribers)


async def test_a_lone_message_to_a_consumer_idle_for_several_polls_is_handled(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    # Idle for several polls that found nothing, as a quiet topic between two visits is.
    await asyncio.sleep(3 * POLL_TIMEOUT_MS / 1000)
    sent = await service.send()
    assert await service.wait_for_effects(sent.message_id) == [1]
