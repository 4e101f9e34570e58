"""Notices delivered by channel with retries; patients' contact details.

A notice is now unique per patient, cause (the event it reports, or the period for the
close-to-ceiling notice) and channel, and carries its delivery state: pending, sent or failed,
with its attempts and when the next one is due.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notices", sa.Column("cause", sa.Text, nullable=True))
    op.execute("UPDATE notices SET cause = event_id::text")
    op.alter_column("notices", "cause", nullable=False)
    op.drop_column("notices", "event_id")
    op.alter_column("notices", "status", new_column_name="state", server_default="pending")
    op.execute("UPDATE notices SET state = 'pending' WHERE state = 'recorded'")
    op.add_column("notices", sa.Column("channel", sa.Text, nullable=False, server_default="letter"))
    op.add_column("notices", sa.Column("language", sa.Text, nullable=False, server_default="sv"))
    op.add_column("notices", sa.Column("html", sa.Text, nullable=False, server_default=""))
    op.add_column("notices", sa.Column("facts", postgresql.JSONB, nullable=False, server_default="{}"))
    op.add_column("notices", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column(
        "notices",
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("notices", sa.Column("last_error", sa.Text, nullable=True))
    op.add_column("notices", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "notices", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
    )
    op.create_unique_constraint("notices_one_per_cause_and_channel", "notices", ["patient_key", "cause", "channel"])
    op.create_index("notices_due", "notices", ["next_attempt_at"], postgresql_where=sa.text("state = 'pending'"))
    op.create_index("notices_failed", "notices", ["updated_at"], postgresql_where=sa.text("state = 'failed'"))

    op.create_table(
        "patient_contacts",
        sa.Column("patient_key", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("postal_address", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Text, nullable=False),
    )
