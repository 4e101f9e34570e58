"""The exit check in one call: the exits' lock taken shared, then the register read, by a function
(`runtime.membership.create_exit_check`), one round trip instead of two on every poll that checks it.

Revision ID: 0008
"""

from runtime.membership import create_exit_check, drop_exit_check

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_exit_check()


def downgrade() -> None:
    drop_exit_check()
