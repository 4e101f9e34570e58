"""The Alembic environment every service's migrations run in, and the messaging tables they share.

A service's `migrations/env.py` is one line, `from runtime.migrations import run_environment; run_environment()`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op


def run_environment() -> None:
    """Run migrations on the connection `runtime.database.migrate` hands over, in the service's schema."""
    config = context.config
    connection = config.attributes["connection"]
    schema = config.attributes["schema"]
    context.configure(connection=connection, version_table_schema=schema, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables() -> None:
    """The outbox and inbox tables, created by each service's first migration."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.LargeBinary, nullable=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.dialects.postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


INBOX_BY_AGE = "inbox_by_age"


def index_inbox_by_age() -> None:
    """A BRIN index of the inbox by when each id was recorded: what forgetting old ids looks up
    (`runtime.inbox.forget_before`). Ids are recorded in time order, so each block range's summary stays
    narrow, and a message costs the index next to nothing (a B-tree would take an entry for each)."""
    op.create_index(INBOX_BY_AGE, "inbox", ["processed_at"], postgresql_using="brin", if_not_exists=True)


def drop_inbox_age_index() -> None:
    op.drop_index(INBOX_BY_AGE, table_name="inbox", if_exists=True)


OUTBOX_LOCK = "hashtext(current_schema() || '.outbox')"
"""The advisory lock's key that lets one relay of a schema at a time take from its outbox."""

TAKE_OUTBOX_BATCH = "take_outbox_batch"
"""The function the outbox relay took its next batch with in a transaction, until it held its batches with
`create_outbox_hold_and_release`'s functions; kept for a replica of that version during an upgrade."""


def create_outbox_take() -> None:
    """The relay's take of its next batch, as a function planned with the outbox's index only.

    The outbox fills behind a backlog and empties again, and its table and index keep the size the backlog
    gave them (a vacuum cannot give the pages back while relays and consumers use the table). PostgreSQL
    then knows a few rows in a thousand pages and an index that looks as large: it chose to read the whole
    table for every batch (3 to 5 ms a take at 100/s after one flat-out run, every take on a fee's way),
    or, with a plan kept from an empty outbox, the whole table for each batch. Taking the oldest rows by
    their id is always the index's work, so the function is planned with sequential scans off.

    Only the holder of the schema's outbox lock takes anything (tried once per call, before the first row is
    read), so events of one key leave in the order written even across replicas. The batch is deleted as the
    rows up to its last id: the statement sees one snapshot, in which those rows are the batch (a join to the
    batch once let a plan kept from an empty outbox go through the batch again for every row). The caller's
    transaction rolls back if Kafka does not take the batch, which puts it back. Its commit returns before its
    WAL is on disk: it only deletes what Kafka has, and a deletion lost in a crash publishes those events
    again, which consumers recognise (at-least-once, deduplicated on event_id)."""
    op.execute(
        f"CREATE OR REPLACE FUNCTION {TAKE_OUTBOX_BATCH}(batch_size integer) "
        "RETURNS TABLE (id bigint, topic text, key bytea, value bytea, headers text, event_type text) "
        "LANGUAGE plpgsql SET enable_seqscan = off AS $take$\n"
        "#variable_conflict use_column\n"
        "BEGIN\n"
        "  RETURN QUERY WITH leader AS MATERIALIZED (\n"
        f"    SELECT pg_try_advisory_xact_lock({OUTBOX_LOCK}) AS leads,\n"
        "           set_config('synchronous_commit', 'off', true)),\n"
        "  taken AS (DELETE FROM outbox WHERE id <= (SELECT max(id) FROM\n"
        "      (SELECT id FROM outbox WHERE (SELECT leads FROM leader) ORDER BY id LIMIT batch_size) AS batch)\n"
        "    RETURNING id, topic, key, value, headers::text, headers->>'event_type')\n"
        "  SELECT * FROM taken;\n"
        "END\n"
        "$take$"
    )
    # Nothing but the service's own role has any business taking its outbox.
    op.execute(f"REVOKE EXECUTE ON FUNCTION {TAKE_OUTBOX_BATCH}(integer) FROM PUBLIC")


def drop_outbox_take() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {TAKE_OUTBOX_BATCH}(integer)")


HOLD_OUTBOX_BATCH = "hold_outbox_batch"
"""The function the outbox relay reads its next batch with, holding the outbox lock until it lets the batch go."""
RELEASE_OUTBOX_BATCH = "release_outbox_batch"
"""The function the outbox relay deletes a batch Kafka has with, letting go of the outbox lock."""


def create_outbox_hold_and_release() -> None:
    """The relay's batch as two statements and no transaction: `hold_outbox_batch` reads the oldest rows
    (nothing is deleted) and keeps the schema's outbox lock as a lock of the session if it returned any;
    `release_outbox_batch` deletes the rows Kafka has acknowledged, by their ids, and lets go of the lock.

    It was BEGIN, a take that deleted the batch, and COMMIT after Kafka had it (`create_outbox_take`): one
    round trip more on every event's way out, and a transaction left open while Kafka took the batch. The
    lock is held from the read to the deletion exactly as the transaction held it, so one relay at a time
    publishes and events of one key leave in the order written, across replicas. The rows are deleted by
    their ids, not as those up to the batch's last id: a transaction that got a lower id and committed
    after the read left its row out of the batch, and it must stay for the next one. A relay that dies with
    a batch held loses its session, and the lock with it; the batch is published again by the next holder
    (at-least-once, deduplicated on event_id). Both are planned with the outbox's index only, for the same
    reason as the take; the deletion's commit does not wait for its WAL, as the take's did not."""
    op.execute(
        f"CREATE OR REPLACE FUNCTION {HOLD_OUTBOX_BATCH}(batch_size integer) "
        "RETURNS TABLE (id bigint, topic text, key bytea, value bytea, headers text, event_type text) "
        "LANGUAGE plpgsql SET enable_seqscan = off AS $hold$\n"
        "#variable_conflict use_column\n"
        "BEGIN\n"
        f"  IF NOT pg_try_advisory_lock({OUTBOX_LOCK}) THEN\n"
        "    RETURN;\n"
        "  END IF;\n"
        "  RETURN QUERY SELECT id, topic, key, value, headers::text, headers->>'event_type'\n"
        "    FROM outbox ORDER BY id LIMIT batch_size;\n"
        "  IF NOT FOUND THEN\n"
        f"    PERFORM pg_advisory_unlock({OUTBOX_LOCK});\n"
        "  END IF;\n"
        "END\n"
        "$hold$"
    )
    op.execute(
        f"CREATE OR REPLACE FUNCTION {RELEASE_OUTBOX_BATCH}(published bigint[]) RETURNS void "
        "LANGUAGE plpgsql SET enable_seqscan = off AS $release$\n"
        "BEGIN\n"
        "  PERFORM set_config('synchronous_commit', 'off', true);\n"
        "  DELETE FROM outbox WHERE id = ANY(published);\n"
        f"  PERFORM pg_advisory_unlock({OUTBOX_LOCK});\n"
        "END\n"
        "$release$"
    )
    # Nothing but the service's own role has any business taking its outbox.
    op.execute(f"REVOKE EXECUTE ON FUNCTION {HOLD_OUTBOX_BATCH}(integer) FROM PUBLIC")
    op.execute(f"REVOKE EXECUTE ON FUNCTION {RELEASE_OUTBOX_BATCH}(bigint[]) FROM PUBLIC")


def drop_outbox_hold_and_release() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {HOLD_OUTBOX_BATCH}(integer)")
    op.execute(f"DROP FUNCTION IF EXISTS {RELEASE_OUTBOX_BATCH}(bigint[])")
