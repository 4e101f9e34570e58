"""Submissions seen and every version of every fee.

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
        "submissions",
        sa.Column("system_id", sa.Text, primary_key=True),
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("fee_id", sa.Uuid, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "fee_versions",
        sa.Column("fee_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Text, nullable=False),
        sa.Column("system_id", sa.Text, nullable=True),
        sa.Column("patient_key", sa.Text, nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("care_unit", sa.Text, nullable=False),
        sa.Column("registered_by", sa.Text, nullable=False),
        sa.Column("fee_type", sa.Text, nullable=False),
        sa.Column("fee_amount", sa.Integer, nullable=False),
        sa.Column("paid_amount", sa.Integer, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("receipt_issuer", sa.Text, nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("fee_versions_by_patient", "fee_versions", ["patient_key", "visit_date"])
