"""The inbox gets an index by age, so that the ids of messages their topics no longer hold can be forgotten
(`runtime.inbox`); before, every message id ever taken in stayed for good.

Revision ID: 0006
"""

from runtime.migrations import drop_inbox_age_index, index_inbox_by_age

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    index_inbox_by_age()


def downgrade() -> None:
    drop_inbox_age_index()
