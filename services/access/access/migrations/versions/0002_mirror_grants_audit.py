"""The HSA mirror, agreements, integrated systems, the grants as last published, and the audit log.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _text(name: str, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=False, **kwargs)  # type: ignore[arg-type]


def upgrade() -> None:
    _create_the_mirror()
    _create_the_register()
    _create_published_grants_and_audit_log()


def _create_the_mirror() -> None:
    """HSA's part: providers, units, employees, commissions and e-frikort roles."""
    # Providers, units and employees that leave the directory stay as rows marked out of it, so that
    # the grant saying "nobody may act for this unit any more" can still name its provider and region.
    op.create_table(
        "care_providers",
        _text("hsa_id", primary_key=True),
        _text("name", server_default=""),
        sa.Column("in_directory", sa.Boolean, nullable=False),
    )
    op.create_table(
        "care_units",
        _text("hsa_id", primary_key=True),
        _text("name", server_default=""),
        _text("care_provider", index=True),
        _text("region"),
        sa.Column("in_directory", sa.Boolean, nullable=False),
    )
    op.create_table(
        "employees",
        _text("hsa_id", primary_key=True),
        _text("name", server_default=""),
        sa.Column("in_directory", sa.Boolean, nullable=False),
    )
    op.create_table(
        "commissions",
        _text("commission_id", primary_key=True),
        _text("employee"),
        _text("care_unit"),
        _text("purpose"),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
    )
    op.create_index("commissions_by_employee_unit", "commissions", ["employee", "care_unit"])
    op.create_table(
        "access_roles",
        _text("employee", primary_key=True),
        _text("care_unit", primary_key=True),
        _text("role", primary_key=True),
    )


def _create_the_register() -> None:
    """E-frikort's own register: agreements and integrated systems."""
    op.create_table(
        "agreements",
        _text("care_provider", primary_key=True),
        _text("region"),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("terminated_on", sa.Date),
    )
    op.create_table(
        "integrated_systems",
        _text("system_id", primary_key=True),
        _text("name", server_default=""),
        sa.Column("certified", sa.Boolean, nullable=False),
        sa.Column("suspended", sa.Boolean, nullable=False),
    )
    op.create_table("system_approvals", _text("system_id", primary_key=True), _text("region", primary_key=True))


def _create_published_grants_and_audit_log() -> None:
    op.create_table(
        "published_grants",
        _text("key", primary_key=True),
        sa.Column("content", sa.dialects.postgresql.JSONB, nullable=False),
        sa.Column("recheck_on", sa.Date, index=True),
    )
    op.create_table(
        "audit_entries",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        _text("patient_key"),
        _text("actor"),
        sa.Column("system_id", sa.Text),
        sa.Column("care_unit", sa.Text),
        _text("action"),
        _text("service"),
        sa.Column("subject", sa.Text),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("audit_entries_by_patient", "audit_entries", ["patient_key", "occurred_at"])
