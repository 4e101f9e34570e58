"""Patient exit (utträde) and re-entry (återinträde), obeyed by every service without code of its own.

The convention: **every table that holds data about a patient has a `patient_key` column.** The
runtime subscribes every service to `efrikort.patient-membership.v1` (consumer group
`<service>-membership`). On `PatientExited` it, in the service's own schema and one transaction:

- deletes every row with the patient's key from every table with a `patient_key` column, except the
  tables the law keeps (`Service.kept_on_exit`: access's audit log, since the Patient Data Act wants
  every read and change of a patient's data on record) and the exit register itself. The tables are
  found in the catalogue when the event is handled, so a table a later migration adds is included
  without anyone remembering to list it;
- tombstones the patient's key on each compacted patient topic the service produces (a record with no
  value), so that compaction drops what those topics held about the patient: contact details,
  status. Only the topics the service declares it produces, which are the ones its ACLs let it write;
- records the key in the exit register (`exited_patients`), and from then on the runtime passes none of
  the patient's events on the patient topics to the service's handlers (`skipping_exited_patients`):
  a fee in flight at the exit does not bring the patient's rows back.

On `PatientReentered` the register forgets the key and the patient's new events count again. What was
removed is not restored: the patient starts from nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.access_events import PatientExited, PatientReentered
from contracts.topics import AUDIT, PATIENT_MEMBERSHIP, SystemTopic, Topic
from runtime.consumers import Consumer, Delivery
from runtime.database import driver_connection
from runtime.transaction import Transaction

log = logging.getLogger(__name__)

PATIENT_KEY_COLUMN = "patient_key"
EXIT_REGISTER = "exited_patients"

_PATIENT_TABLES = text(
    "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
    "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
    "WHERE c.table_schema = current_schema() AND c.column_name = :column AND t.table_type = 'BASE TABLE' "
    "ORDER BY c.table_name"
)
_RECORD_EXIT = text(
    f"INSERT INTO {EXIT_REGISTER} (patient_key, exited_at) VALUES (:key, :at) "
    "ON CONFLICT (patient_key) DO UPDATE SET exited_at = excluded.exited_at"
)
_EXITS_LOCK = "hashtext(current_schema() || '.membership')"
"""Taken shared before the register is read, by every batch or request that writes a patient's rows. An exit and
such a batch must not interleave: the batch could find the patient still a member, the exit remove their rows and
commit, and the batch then write them back. Batches share the lock (they never wait for each other); an
exit takes it alone, waiting for the batches under way. One lock per schema, so that no order of taking
several can deadlock; exits are rare."""
_EXITS_ALONE = text(f"SELECT pg_advisory_xact_lock({_EXITS_LOCK})")
_FORGET_EXIT = text(f"DELETE FROM {EXIT_REGISTER} WHERE patient_key = :key")
EXITED_AMONG = "exited_among"
"""The function that takes the exits' lock shared and then reads the register (`create_exit_check`)."""
_EXITED = f"SELECT patient_key FROM {EXITED_AMONG}($1::text[]) AS patient_key"


def create_exit_register() -> None:
    """The exit register, created by each service's own migration: the keys of the patients who have left,
    whose events the runtime no longer passes on. It is kept through the exit it records."""
    op.create_table(
        EXIT_REGISTER,
        sa.Column(PATIENT_KEY_COLUMN, sa.Text, primary_key=True),
        sa.Column("exited_at", sa.DateTime(timezone=True), nullable=False),
    )


def create_exit_check() -> None:
    """The exit check as one call: the exits' lock taken shared, then the register read. It was two round
    trips (the lock, then the read) on every poll of a patient topic and every submission, each a wait on
    the answer's path. One statement could not do both: it reads what was committed when it began, so a read
    in the statement that waited for an exit would not see that exit. A PL/pgSQL function (volatile) takes a
    new snapshot for each statement in it, so its read begins once the lock is held."""
    op.execute(
        f"CREATE OR REPLACE FUNCTION {EXITED_AMONG}(patient_keys text[]) RETURNS SETOF text "
        "LANGUAGE plpgsql VOLATILE AS $exited$\n"
        "BEGIN\n"
        f"  PERFORM pg_advisory_xact_lock_shared({_EXITS_LOCK});\n"
        f"  RETURN QUERY SELECT e.patient_key FROM {EXIT_REGISTER} e WHERE e.patient_key = ANY(patient_keys);\n"
        "END\n"
        "$exited$"
    )
    op.execute(f"REVOKE EXECUTE ON FUNCTION {EXITED_AMONG}(text[]) FROM PUBLIC")


def drop_exit_check() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {EXITED_AMONG}(text[])")


async def patient_tables(conn: AsyncConnection) -> list[str]:
    """The tables of this service's schema that hold patient data (those with a `patient_key` column)."""
    return list((await conn.execute(_PATIENT_TABLES, {"column": PATIENT_KEY_COLUMN})).scalars())


async def remove_patient(conn: AsyncConnection, patient_key: str, kept: Iterable[str] = ()) -> dict[str, int]:
    """Delete every row about the patient from every patient table but the `kept` ones (and the exit
    register); returns the rows removed per table."""
    keep = {EXIT_REGISTER, *kept}
    removed: dict[str, int] = {}
    for table in await patient_tables(conn):
        if table in keep:
            continue
        quoted = '"' + table.replace('"', '""') + '"'
        result = await conn.execute(
            text(f"DELETE FROM {quoted} WHERE {PATIENT_KEY_COLUMN} = :key"), {"key": patient_key}
        )
        removed[table] = result.rowcount
    return removed


async def exited(conn: AsyncConnection, patient_keys: Iterable[str]) -> set[str]:
    """Those of the keys whose patients have left and not come back, with the exits' lock held shared until
    the caller's transaction ends: an exit under way is waited for and seen, and none can start before the
    caller has written what it writes about these patients."""
    driver = await driver_connection(conn)
    return {row[0] for row in await driver.fetch(_EXITED, sorted(set(patient_keys)))}


async def on_membership(
    delivery: Delivery, tx: Transaction, *, kept: frozenset[str], tombstoned: Sequence[Topic]
) -> None:
    await tx.conn.execute(_EXITS_ALONE)
    match delivery.event(PatientExited, PatientReentered):
        case PatientExited() as exit_:
            await obey_exit(tx, exit_.patient_key, exit_.exited_at, kept=kept, tombstoned=tombstoned)
        case PatientReentered() as reentry:
            await tx.conn.execute(_FORGET_EXIT, {"key": reentry.patient_key})
            log.info("patient re-entry: their events count again; nothing removed is restored")


async def obey_exit(
    tx: Transaction, patient_key: str, exited_at: datetime, *, kept: frozenset[str], tombstoned: Sequence[Topic]
) -> None:
    removed = await remove_patient(tx.conn, patient_key, kept)
    await tx.conn.execute(_RECORD_EXIT, {"key": patient_key, "at": exited_at})
    for topic in tombstoned:
        await tx.remove(topic, patient_key)
    # Table and topic names and counts only: the key itself stays out of the logs.
    log.info(
        "patient exit: removed %s; tombstoned on %s",
        ", ".join(f"{n} from {t}" for t, n in removed.items()) or "nothing",
        ", ".join(t.name for t in tombstoned) or "no topic",
    )


def compacted_patient_topics(produces: Iterable[Topic | SystemTopic]) -> tuple[Topic, ...]:
    """The topics whose latest record per patient stays for ever unless tombstoned (a system's topics
    are keyed by submission, never compacted)."""
    return tuple(
        t for t in produces if isinstance(t, Topic) and t.cleanup_policy == "compact" and t.key == PATIENT_KEY_COLUMN
    )


def membership_consumer(
    service_name: str, *, kept: Iterable[str] = (), produces: Iterable[Topic | SystemTopic] = ()
) -> Consumer:
    """The service's subscription to patient exit and re-entry. `kept`: tables the law keeps through an
    exit; `produces`: the topics the service writes, whose compacted patient topics it tombstones."""
    handler = functools.partial(on_membership, kept=frozenset(kept), tombstoned=compacted_patient_topics(produces))
    return Consumer(PATIENT_MEMBERSHIP, group=f"{service_name}-membership", handler=handler)


# --- the patient topics: an exited patient's events are passed to no handler -----------------------

NOT_SKIPPED: frozenset[str] = frozenset({AUDIT.name, PATIENT_MEMBERSHIP.name})
"""Patient-keyed topics whose events count after an exit too: the audit log is kept (the exit itself is
audited), and membership events are the exit and the re-entry."""


def skips_exited_patients(topic: Topic | SystemTopic) -> bool:
    return topic.key == PATIENT_KEY_COLUMN and topic.name not in NOT_SKIPPED


def skipping_exited_patients(consumer: Consumer) -> Consumer:
    """The consumer, passing its handler only the events of patients who have not left; a consumer of a
    topic not keyed by patient is returned as it is. The events skipped are still taken in (inbox,
    offset): they are done with, not retried."""
    if not skips_exited_patients(consumer.topic):
        return consumer
    return dataclasses.replace(consumer, handler=None, batch_handler=functools.partial(members_only, consumer=consumer))


async def members_only(deliveries: Sequence[Delivery], tx: Transaction, *, consumer: Consumer) -> None:
    members = await still_members(tx.conn, deliveries)
    if members:
        await consumer.handle(members, tx)


async def still_members(conn: AsyncConnection, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """The deliveries that are not about a patient who has left, nor a tombstone: on a patient topic a
    tombstone is an exit's, and the exit has already removed what it would."""
    keys = {d.key.decode("utf-8", "replace") for d in deliveries if d.key}
    gone = await exited(conn, keys)
    members = [d for d in deliveries if d.value and not (d.key and d.key.decode("utf-8", "replace") in gone)]
    if skipped := len(deliveries) - len(members):
        log.info("skipped %d events of patients who have left e-frikort, or tombstones", skipped)
    return members
