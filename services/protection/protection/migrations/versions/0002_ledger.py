"""The ledger: every fee version seen, free cards that move and are revoked, overcharges, undercharges,
and the status last published per patient.

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
    # In the order it was first applied; each step a part of the ledger.
    _every_fee_version()
    _fees_deleted_charged_and_sourced()
    _free_cards_that_move_and_are_revoked()
    _overcharges_and_undercharges()
    _status_last_published()


def _every_fee_version() -> None:
    op.create_table(
        "fee_versions",
        sa.Column("fee_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("patient_key", sa.Text, nullable=False, index=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("event", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def _fees_deleted_charged_and_sourced() -> None:
    op.add_column("fees", sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column(
        "fees",
        sa.Column(
            "charged_amount",
            sa.Integer,
            nullable=True,
            comment="What was due when first assessed, for fees without a paid amount.",
        ),
    )
    op.add_column("fees", sa.Column("source", sa.Text, nullable=True))
    op.add_column("fees", sa.Column("receipt_issuer", sa.Text, nullable=True))


def _free_cards_that_move_and_are_revoked() -> None:
    op.drop_constraint("free_cards_patient_key_period_start_key", "free_cards")
    op.create_index("free_cards_patient_key", "free_cards", ["patient_key"])
    op.add_column("free_cards", sa.Column("ceiling", sa.Integer, nullable=False, server_default="0"))
    op.add_column(
        "free_cards", sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
    )
    op.add_column("free_cards", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def _overcharges_and_undercharges() -> None:
    op.create_table(
        "overcharges",
        sa.Column("overcharge_id", sa.Uuid, primary_key=True),
        sa.Column("patient_key", sa.Text, nullable=False, index=True),
        sa.Column("fee_id", sa.Uuid, nullable=False, index=True),
        sa.Column("care_unit", sa.Text, nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("fee_type", sa.Text, nullable=False),
        sa.Column("paid_amount", sa.Integer, nullable=False),
        sa.Column("amount_due", sa.Integer, nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_by", sa.Text, nullable=True),
    )
    op.create_index(
        "overcharges_open_per_unit",
        "overcharges",
        ["care_unit", "found_at"],
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_table(
        "undercharges",
        sa.Column("fee_id", sa.Uuid, primary_key=True),
        sa.Column("patient_key", sa.Text, nullable=False, index=True),
        sa.Column("care_unit", sa.Text, nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def _status_last_published() -> None:
    op.create_table(
        "patient_status",
        sa.Column("patient_key", sa.Text, primary_key=True),
        sa.Column("status", JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
