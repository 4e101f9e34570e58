"""Access grants read model, stored outcomes, and what each fee version changed.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The compacted access-grants topic as registration last saw it: one row per key, latest changed_at wins.
    op.create_table(
        "access_grants",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("grant", JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Every outcome published for a submission id (by protection, or registration's own rejections):
    # answers re-sends with the same outcome, and the HTTP polling URL.
    op.create_table(
        "outcomes",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("outcome", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("fee_versions", sa.Column("change", sa.Text, nullable=False, server_default="registered"))
    op.add_column("fee_versions", sa.Column("changed_by", sa.Text, nullable=True))
    op.add_column("fee_versions", sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("fee_versions", sa.Column("reason", sa.Text, nullable=True))
    op.add_column("fee_versions", sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()))
