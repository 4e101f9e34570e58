"""The access grants read model: notifications asks it whether a caller may see and resend notices.

Revision ID: 0003
"""

from runtime.access_grants import create_grants_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_grants_table()
