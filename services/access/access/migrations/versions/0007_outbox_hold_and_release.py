"""The relay reads its batch holding the outbox lock, and deletes it once Kafka has it, with no transaction
around the two (`runtime.migrations.create_outbox_hold_and_release`): one round trip fewer on every event's
way out. The take it replaces stays for a replica of the version before, still running during an upgrade.

Revision ID: 0007
"""

from runtime.migrations import create_outbox_hold_and_release, drop_outbox_hold_and_release

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_hold_and_release()


def downgrade() -> None:
    drop_outbox_hold_and_release()
