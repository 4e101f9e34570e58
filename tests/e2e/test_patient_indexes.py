"""The indexes over patient data: a patient's exit finds every row it deletes through one, and no index
repeats what another of its table already serves (each index costs a page write for every fee stored, and on
a large region's year a page write of a random page: issue 17)."""

from __future__ import annotations

import asyncpg
import pytest

from efrikort.services import SERVICE_PORTS, ServiceProcess

pytestmark = pytest.mark.e2e

_PATIENT_TABLES = """
SELECT c.table_schema || '.' || c.table_name AS name, EXISTS (
    SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND a.attname = 'patient_key'
) AS indexed
FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.column_name = 'patient_key' AND c.table_schema = ANY($1::text[]) AND t.table_type = 'BASE TABLE'
"""

_BTREE_INDEXES = """
SELECT n.nspname || '.' || ic.relname AS name, i.indrelid AS table_oid, i.indkey::int2[] AS columns,
    i.indisunique AS is_unique, i.indpred IS NOT NULL OR i.indexprs IS NOT NULL AS is_special
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname = ANY($1::text[]) AND am.amname = 'btree'
"""


async def test_every_table_with_patient_data_is_indexed_by_the_patient_key_that_an_exit_deletes_by(
    services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    tables = await db.fetch(_PATIENT_TABLES, list(SERVICE_PORTS))
    assert len(tables) > 10
    assert [table["name"] for table in tables if not table["indexed"]] == []


async def test_no_index_is_the_leading_part_of_another_index_of_its_table(
    services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    indexes = await db.fetch(_BTREE_INDEXES, list(SERVICE_PORTS))
    assert len(indexes) > 20
    redundant = sorted(
        (shorter["name"], longer["name"])
        for shorter in indexes
        for longer in indexes
        if shorter["name"] != longer["name"]
        and shorter["table_oid"] == longer["table_oid"]
        # A unique index enforces something a longer one does not, and a partial or expression index
        # serves other queries.
        and not shorter["is_unique"]
        and not shorter["is_special"]
        and not longer["is_special"]
        and list(longer["columns"][: len(shorter["columns"])]) == list(shorter["columns"])
    )
    assert redundant == []
