"""Each patient's ledger checkpoint (the settled part), and fees indexed in replay order, so that a new
fee is recomputed from the checkpoint on rather than from the patient's first fee (issue 17).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A patient without a row is replayed in full once, which then writes it.
    op.create_table(
        "ledger_checkpoints",
        sa.Column("patient_key", sa.Text, primary_key=True),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fee_id", sa.Uuid, nullable=False),
        sa.Column("card_period_start", sa.Date, nullable=True),
        sa.Column("card_valid_from", sa.Date, nullable=True),
        sa.Column("card_valid_to", sa.Date, nullable=True),
        sa.Column("card_ceiling", sa.Integer, nullable=True),
    )
    op.create_index("fees_in_replay_order", "fees", ["patient_key", "visit_date", "registered_at", "fee_id"])
