"""The outbox and inbox every service has.

Revision ID: 0001
"""

from runtime.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
