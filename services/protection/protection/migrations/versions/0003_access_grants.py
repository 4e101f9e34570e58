"""The access grants read model: protection asks it whether a caller's role allows what they ask over HTTP.

Revision ID: 0003
"""

from runtime.access_grants import create_grants_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_grants_table()
