"""Registration's view of the access grants (behörigheter), and the questions it asks of them.

The access service publishes the facts on the compacted grants topic; registration keeps the latest
of each key and decides with the one shared decision, `contracts.authorization.decide`. Plain
Python: no Kafka, no SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from contracts.access_events import CareUnitGrant, EmployeeGrant, SystemGrant
from contracts.authorization import Action, Decision, decide
from contracts.envelope import Event

Grant = CareUnitGrant | EmployeeGrant | SystemGrant
GRANT_TYPES: dict[str, type[Grant]] = {kind.event_type: kind for kind in (CareUnitGrant, EmployeeGrant, SystemGrant)}


def unit_key(care_unit: str) -> str:
    return f"unit/{care_unit}"


def employee_key(employee: str, care_unit: str) -> str:
    return f"employee/{employee}/{care_unit}"


def system_key(system_id: str) -> str:
    return f"system/{system_id}"


def key_of(grant: Event) -> str:
    """The key a grant is published under on the grants topic."""
    if isinstance(grant, CareUnitGrant):
        return unit_key(grant.care_unit)
    if isinstance(grant, EmployeeGrant):
        return employee_key(grant.employee, grant.care_unit)
    if isinstance(grant, SystemGrant):
        return system_key(grant.system_id)
    raise TypeError(f"not a grant: {type(grant).__name__}")


def keys_for(care_unit: str, employee: str, system_id: str | None) -> list[str]:
    """The grants one decision reads."""
    keys = [unit_key(care_unit), employee_key(employee, care_unit)]
    if system_id is not None:
        keys.append(system_key(system_id))
    return keys


@dataclass(frozen=True)
class Grants:
    """The grants one or more decisions need, by key."""

    by_key: Mapping[str, Grant]

    def unit(self, care_unit: str) -> CareUnitGrant | None:
        grant = self.by_key.get(unit_key(care_unit))
        return grant if isinstance(grant, CareUnitGrant) else None

    def employee(self, employee: str, care_unit: str) -> EmployeeGrant | None:
        grant = self.by_key.get(employee_key(employee, care_unit))
        return grant if isinstance(grant, EmployeeGrant) else None

    def system(self, system_id: str) -> SystemGrant | None:
        grant = self.by_key.get(system_key(system_id))
        return grant if isinstance(grant, SystemGrant) else None

    def decide(
        self,
        action: Action,
        *,
        acting_unit: str,
        employee: str,
        today: date,
        target_unit: str | None = None,
        system_id: str | None = None,
    ) -> Decision:
        """May `employee`, acting for `acting_unit` (through `system_id` when given), do `action` on
        something of `target_unit`?"""
        return decide(
            action,
            acting_unit=self.unit(acting_unit),
            employee=self.employee(employee, acting_unit),
            target_unit=self.unit(target_unit) if target_unit is not None else None,
            system=self.system(system_id) if system_id is not None else None,
            through_system=system_id is not None,
            today=today,
        )

    def units_of(self, employee: str) -> Iterable[str]:
        """Units where the employee holds a grant, of those loaded."""
        return [g.care_unit for g in self.by_key.values() if isinstance(g, EmployeeGrant) and g.employee == employee]
