"""The fees protection has seen per patient, and the free cards it issued.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from runtime.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "fees",
        sa.Column("fee_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("patient_key", sa.Text, nullable=False, index=True),
        sa.Column("submission_id", sa.Text, nullable=False),
        sa.Column("care_unit", sa.Text, nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fee_type", sa.Text, nullable=False),
        sa.Column("fee_amount", sa.Integer, nullable=False),
        sa.Column("paid_amount", sa.Integer, nullable=True),
    )
    op.create_table(
        "free_cards",
        sa.Column("number", sa.Text, primary_key=True),
        sa.Column("patient_key", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.UniqueConstraint("patient_key", "period_start"),
    )
