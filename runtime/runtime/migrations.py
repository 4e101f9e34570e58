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
