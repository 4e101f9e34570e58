"""The relay takes its next batch through a function planned with the outbox's index only: after a backlog,
PostgreSQL read the whole emptied table for every batch (`runtime.migrations.create_outbox_take`).

Revision ID: 0008
"""

from runtime.migrations import create_outbox_take, drop_outbox_take

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_take()


def downgrade() -> None:
    drop_outbox_take()
