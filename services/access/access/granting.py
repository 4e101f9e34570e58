"""The effective rights (behörigheter) that follow from the HSA mirror, the agreements and the systems.

Plain Python. A grant is computed from the facts of one unit, one employee at one unit, or one
system, for a given day; `recheck_on` is the first later day on which the same facts would give a
different grant (a commission starts or ends, an agreement is signed or terminated), so that the
passing of time takes effect without any new fact arriving.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

from contracts.access_events import (
    AccessRole,
    CareUnitGrant,
    CommissionPurpose,
    EmployeeGrant,
    SystemGrant,
    employee_key,
    system_key,
    unit_key,
)
from contracts.envelope import Event

GrantT = TypeVar("GrantT", bound=Event)

ROLE_STRENGTH: dict[AccessRole, int] = {
    AccessRole.LIMITED_USER: 1,
    AccessRole.USER: 2,
    AccessRole.ADMINISTRATOR: 3,
    AccessRole.SUPERUSER: 4,
}
RIGHT_GIVING_PURPOSES = frozenset(purpose.value for purpose in CommissionPurpose)


@dataclass(frozen=True)
class Unit:
    care_unit: str
    care_provider: str
    region: str
    in_directory: bool


@dataclass(frozen=True)
class Agreement:
    """The region's e-frikort agreement with a care provider (avtal)."""

    care_provider: str
    region: str
    signed_on: date
    terminated_on: date | None = None

    def in_force(self, today: date) -> bool:
        return self.signed_on <= today and (self.terminated_on is None or today < self.terminated_on)


@dataclass(frozen=True)
class Commission:
    """A medarbetaruppdrag: valid from `valid_from` through `valid_to` (inclusive), or until further notice."""

    commission_id: str
    employee: str
    care_unit: str
    purpose: str
    valid_from: date
    valid_to: date | None = None

    def gives_rights_on(self, today: date) -> bool:
        return (
            self.purpose in RIGHT_GIVING_PURPOSES
            and self.valid_from <= today
            and (self.valid_to is None or today <= self.valid_to)
        )


@dataclass(frozen=True)
class IntegratedSystem:
    system_id: str
    name: str
    certified: bool
    suspended: bool
    approved_regions: frozenset[str]


@dataclass(frozen=True)
class Computed(Generic[GrantT]):
    key: str
    grant: GrantT
    recheck_on: date | None


def _next_change(days: Iterable[date | None], today: date) -> date | None:
    later = [day for day in days if day is not None and day > today]
    return min(later, default=None)


def unit_grant(unit: Unit, agreement: Agreement | None, today: date, now: datetime) -> Computed[CareUnitGrant]:
    grant = CareUnitGrant(
        care_unit=unit.care_unit,
        care_provider=unit.care_provider,
        region=unit.region,
        agreement_signed=agreement is not None and agreement.in_force(today),
        active=unit.in_directory,
        changed_at=now,
    )
    recheck = _next_change((agreement.signed_on, agreement.terminated_on), today) if agreement else None
    return Computed(unit_key(unit.care_unit), grant, recheck)


def employee_grant(
    employee: str,
    care_unit: str,
    *,
    in_directory: bool,
    commissions: Sequence[Commission],
    roles: Iterable[AccessRole],
    today: date,
    now: datetime,
) -> Computed[EmployeeGrant]:
    """An employee's rights at one unit: a commission with a right-giving purpose valid today, and the
    strongest e-frikort role held there. An employee who left the directory holds nothing."""
    valid = [c for c in commissions if c.gives_rights_on(today)] if in_directory else []
    valid_to = (
        None if any(c.valid_to is None for c in valid) else max((c.valid_to for c in valid if c.valid_to), default=None)
    )
    held = sorted(roles, key=ROLE_STRENGTH.__getitem__)
    grant = EmployeeGrant(
        employee=employee,
        care_unit=care_unit,
        commission_active=bool(valid),
        commission_valid_to=valid_to,
        role=held[-1] if held else None,
        changed_at=now,
    )
    recheck = (
        _next_change(
            [c.valid_from for c in commissions]
            + [c.valid_to + timedelta(days=1) for c in commissions if c.valid_to is not None],
            today,
        )
        if in_directory
        else None
    )
    return Computed(employee_key(employee, care_unit), grant, recheck)


def unknown_system_grant(system_id: str, now: datetime) -> Computed[SystemGrant]:
    grant = SystemGrant(
        system_id=system_id, name="", certified=False, suspended=False, approved_regions=[], changed_at=now
    )
    return Computed(system_key(system_id), grant, None)


def system_grant(system: IntegratedSystem, now: datetime) -> Computed[SystemGrant]:
    grant = SystemGrant(
        system_id=system.system_id,
        name=system.name,
        certified=system.certified,
        suspended=system.suspended,
        approved_regions=sorted(system.approved_regions),
        changed_at=now,
    )
    return Computed(system_key(system.system_id), grant, None)


def comparable(grant: Event) -> dict[str, object]:
    """What a grant says, without when it was computed: a grant is republished only when this changes."""
    return grant.model_dump(mode="json", exclude={"changed_at"})
