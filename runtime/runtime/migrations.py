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
