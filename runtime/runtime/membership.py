"""Patient exit (utträde) and re-entry (återinträde), obeyed by every service without code of its own.

The convention: **every table that holds data about a patient has a `patient_key` column.** The
runtime subscribes every service to `efrikort.patient-membership.v1` (consumer group
`<service>-membership`). On `PatientExited` it deletes, in the service's own schema, every row
of every table with a `patient_key` column that carries the patient's key. The tables are found
in the catalogue when the event is handled, so a table added by a later migration is included
without anyone remembering to list it. Re-entry needs nothing: what was removed is not restored,
and the patient starts from nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.access_events import PatientExited, PatientReentered
from contracts.topics import PATIENT_MEMBERSHIP
from runtime.consumers import Consumer, Delivery
from runtime.transaction import Transaction

log = logging.getLogger(__name__)

PATIENT_KEY_COLUMN = "patient_key"

_PATIENT_TABLES = text(
    "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
    "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
    "WHERE c.table_schema = current_schema() AND c.column_name = :column AND t.table_type = 'BASE TABLE' "
    "ORDER BY c.table_name"
)


async def patient_tables(conn: AsyncConnection) -> list[str]:
    """The tables of this service's schema that hold patient data (those with a `patient_key` column)."""
    return list((await conn.execute(_PATIENT_TABLES, {"column": PATIENT_KEY_COLUMN})).scalars())


async def remove_patient(conn: AsyncConnection, patient_key: str) -> dict[str, int]:
    """Delete every row about the patient from every patient table; returns the rows removed per table."""
    removed: dict[str, int] = {}
    for table in await patient_tables(conn):
        quoted = '"' + table.replace('"', '""') + '"'
        result = await conn.execute(
            text(f"DELETE FROM {quoted} WHERE {PATIENT_KEY_COLUMN} = :key"), {"key": patient_key}
        )
        removed[table] = result.rowcount
    return removed


async def on_membership(delivery: Delivery, tx: Transaction) -> None:
    event = delivery.event(PatientExited, PatientReentered)
    if isinstance(event, PatientExited):
        removed = await remove_patient(tx.conn, event.patient_key)
        # Table names and counts only: the key itself stays out of the logs.
        log.info("patient exit: removed %s", ", ".join(f"{n} from {t}" for t, n in removed.items()) or "nothing")
    else:
        log.info("patient re-entry: nothing to restore")


def membership_consumer(service_name: str) -> Consumer:
    return Consumer(PATIENT_MEMBERSHIP, group=f"{service_name}-membership", handler=on_membership)
