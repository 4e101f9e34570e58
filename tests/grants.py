"""Grants as access publishes them, built directly for the unit tests of the questions every deciding
service asks its read model. Nothing here publishes a grant: the grants topic is access's alone, and
the tests that need grants on it import a directory into access (`tests.actors`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.access_events import AccessRole, CareUnitGrant, EmployeeGrant, SystemGrant

REGION = "Region Exempel"
"""The sample directory's region, and the one a deployment serves unless `EFRIKORT_REGION` says otherwise."""
PROVIDER = "SE2321000016-A1B2"


def unit(
    care_unit: str,
    *,
    provider: str = PROVIDER,
    region: str = REGION,
    agreement: bool = True,
    active: bool = True,
) -> CareUnitGrant:
    return CareUnitGrant(
        care_unit=care_unit,
        care_provider=provider,
        region=region,
        agreement_signed=agreement,
        active=active,
        changed_at=datetime.now(UTC),
    )


def employee(
    employee_id: str,
    care_unit: str,
    *,
    role: AccessRole | None = AccessRole.USER,
    commission: bool = True,
    valid_to: datetime | None = None,
) -> EmployeeGrant:
    return EmployeeGrant(
        employee=employee_id,
        care_unit=care_unit,
        commission_active=commission,
        commission_valid_to=valid_to.date() if valid_to else None,
        role=role,
        changed_at=datetime.now(UTC),
    )


def system(
    system_id: str, *, regions: Sequence[str] = (REGION,), certified: bool = True, suspended: bool = False
) -> SystemGrant:
    return SystemGrant(
        system_id=system_id,
        name=system_id,
        certified=certified,
        suspended=suspended,
        approved_regions=list(regions),
        changed_at=datetime.now(UTC),
    )
