"""A consumer no caller waits on lets the broker gather its records, so one transaction takes many.

The audit log and the notices to patients are read by consumers no caller waits on: a poll of one
record costs them as much as a poll of hundreds (a transaction, its round trips, a fetch from the
broker), so the broker holds their fetches up to `consumer_gather_ms` (`runtime.polling.fetch_options`).
A consumer on a caller's path takes each record the moment it comes (`test_polling`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from tests.integration.runtime.harness import TinyService

pytestmark = pytest.mark.integration

GATHER_MS = 2000
MESSAGES = 8


@pytest.fixture(scope="module")
async def service(infra: InfraEndpoints, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TinyService]:
    tiny = TinyService(infra, tmp_path_factory.mktemp("rt-service"), gathers=True, consumer_gather_ms=GATHER_MS)
    try:
        yield tiny
    finally:
        await tiny.close()


async def test_records_sent_one_by_one_reach_a_gathering_consumer_in_a_few_transactions(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    sent = []
    for _ in range(MESSAGES):
        # Each on its own, as audit entries come from the services' relays: a prompt consumer would
        # take each in a poll and a transaction of its own.
        sent.append(await service.send())
        await asyncio.sleep(0.05)
    for message in sent:
        assert await service.wait_for_effects(message.message_id, timeout=30) == [1]

    # Sending them takes well under two gathering windows, on a slow machine three.
    assert await service.transactions_of([message.message_id for message in sent]) <= 3
