"""Fees lose their single-column index on the patient key: `fees_in_replay_order` leads with the patient key
and serves every lookup by it (a patient's exit, the replay), and a second index by the same random key cost
a page write for every fee stored, on a large region's year nearly always of a cold page (issue 17).

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_fees_patient_key", table_name="fees", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_fees_patient_key", "fees", ["patient_key"])
