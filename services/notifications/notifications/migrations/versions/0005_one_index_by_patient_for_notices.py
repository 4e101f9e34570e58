"""Notices lose their single-column index on the patient key: the unique `notices_one_per_cause_and_channel`
(patient key, cause, channel) leads with it and serves every lookup by it (a patient's exit among them), and a
second index by the same key cost a write for every notice (issue 17).

Revision ID: 0005
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_notices_patient_key", table_name="notices", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_notices_patient_key", "notices", ["patient_key"])
