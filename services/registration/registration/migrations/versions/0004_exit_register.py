"""The exit register: the keys of patients who have left e-frikort, whose events the runtime passes on no more.

Revision ID: 0004
"""

from runtime.membership import create_exit_register

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_exit_register()
