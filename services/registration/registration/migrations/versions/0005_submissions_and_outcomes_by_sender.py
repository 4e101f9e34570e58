"""Submissions and outcomes keyed by their sender: an integrated system's namespace of submission ids, or
(for a person registering through no system) the person's own. Two senders may use the same id; each
has its own fee and its own outcome.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every submission so far came through a system (a body without one was refused).
    op.add_column("submissions", sa.Column("sender", sa.Text, nullable=True))
    op.execute("UPDATE submissions SET sender = 'system/' || system_id")
    op.drop_constraint("submissions_pkey", "submissions", type_="primary")
    op.drop_column("submissions", "system_id")
    op.alter_column("submissions", "sender", nullable=False)
    op.create_primary_key("submissions_pkey", "submissions", ["sender", "submission_id"])
    # An outcome names its fee: the fee's submission says whose it is.
    op.create_index("submissions_by_fee", "submissions", ["fee_id"], unique=True)

    op.add_column("outcomes", sa.Column("sender", sa.Text, nullable=True))
    op.execute(
        "UPDATE outcomes o SET sender = s.sender FROM submissions s "
        "WHERE o.status = 'accepted' AND s.fee_id::text = convert_from(o.outcome, 'UTF8')::jsonb ->> 'fee_id'"
    )
    # A rejection names no fee, so whose it was cannot be told: it is dropped rather than shown to
    # someone else (a re-send of the same submission is answered afresh).
    op.execute("DELETE FROM outcomes WHERE sender IS NULL")
    op.drop_constraint("outcomes_pkey", "outcomes", type_="primary")
    op.alter_column("outcomes", "sender", nullable=False)
    op.create_primary_key("outcomes_pkey", "outcomes", ["sender", "submission_id"])
