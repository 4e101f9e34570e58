"""Every service's inbox is indexed by age (BRIN), so that forgetting the ids of messages their topics no
longer hold finds them without reading the whole inbox (`runtime.inbox`)."""

from __future__ import annotations

import asyncpg
import pytest

from efrikort.services import SERVICE_PORTS, ServiceProcess
from runtime.migrations import INBOX_BY_AGE

pytestmark = pytest.mark.e2e

_AGE_INDEXES = """
SELECT n.nspname AS schema FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
WHERE n.nspname = ANY($1::text[]) AND t.relname = 'inbox' AND ic.relname = $2 AND am.amname = 'brin'
    AND a.attname = 'processed_at'
"""


async def test_every_services_inbox_is_indexed_by_when_each_id_was_recorded(
    services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    indexed = {row["schema"] for row in await db.fetch(_AGE_INDEXES, list(SERVICE_PORTS), INBOX_BY_AGE)}

    assert indexed == set(SERVICE_PORTS)
