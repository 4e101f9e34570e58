"""Submissions and outcomes carry the patient key, so that a patient's exit removes them too.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("patient_key", sa.Text, nullable=True))
    op.create_index("submissions_by_patient", "submissions", ["patient_key"])
    op.add_column("outcomes", sa.Column("patient_key", sa.Text, nullable=True))
    op.create_index("outcomes_by_patient", "outcomes", ["patient_key"])
