"""Topics are created explicitly, with their catalogue sizes, never by the broker's auto-creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.topics import Topic

log = logging.getLogger(__name__)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    replication_factor: int = 1,
    client_options: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    wanted = {topic.name: topic for topic in topics}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="efrikort-topic-admin", **(client_options or {})
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, t.partitions, replication_factor, topic_configs=t.config)
            for name, t in wanted.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in response.topic_errors:
                # 36: another replica created it between our listing and our request.
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {name}: Kafka error code {code}")
            log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()
