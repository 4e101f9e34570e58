"""A running service forgets, now and then, the message ids its consumer groups recorded longer ago than
their topics can hold the message (`runtime.inbox.kept_for`: for the test service's topic, kept 7 days,
15 days), a bounded batch per transaction; what is younger stays recognised, and a group the service does
not consume with (one that reads a compacted topic, say) is never touched."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from runtime import service as service_module
from tests.integration.runtime.harness import TinyService
from tests.kafka_clients import eventually


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    return {"inbox_forget_interval_s": 0.2}


async def record(service: TinyService, consumer: str, message_id: str, days_ago: float) -> None:
    db = await service.db()
    await db.execute(
        f"INSERT INTO {service.name}.inbox (consumer, message_id, processed_at) "
        "VALUES ($1, $2, now() - make_interval(secs => $3))",
        consumer,
        message_id,
        days_ago * 86400,
    )


async def inbox(service: TinyService) -> set[str]:
    db = await service.db()
    return {
        row[0] for row in await db.fetch(f"SELECT message_id FROM {service.name}.inbox WHERE message_id LIKE 'aged-%'")
    }


async def test_ids_older_than_the_topic_can_hold_are_forgotten_and_younger_ones_remembered(
    service: TinyService, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    await record(service, service.name, f"aged-{tag}-16-days", 16)
    await record(service, service.name, f"aged-{tag}-14-days", 14)
    await record(service, "a-group-of-another-service", f"aged-{tag}-400-days", 400)

    async def forgotten() -> bool:
        return f"aged-{tag}-16-days" not in await inbox(service)

    assert await eventually(forgotten, timeout=10, interval=0.1)
    assert await inbox(service) >= {f"aged-{tag}-14-days", f"aged-{tag}-400-days"}
    metrics = (await http.get("/metrics")).text
    assert f'efrikort_inbox_forgotten_total{{consumer="{service.name}"}}' in metrics


async def test_a_backlog_of_old_ids_is_forgotten_a_bounded_batch_per_transaction(
    service: TinyService, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    # A group of its own, which the service's own forgetting (of its consumer's group) leaves to this test.
    group = f"backlogged-{tag}"
    for number in range(7):
        await record(service, group, f"aged-{tag}-{number}", 20)
    monkeypatch.setattr(service_module, "INBOX_FORGET_BATCH", 3)

    forgotten = await service.runtime.forget_old_message_ids({group: timedelta(days=15)})

    assert forgotten == {group: 7}
    assert not any(message_id.startswith(f"aged-{tag}") for message_id in await inbox(service))
