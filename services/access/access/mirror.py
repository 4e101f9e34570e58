"""Keeping the mirror and publishing the grants that follow from it.

Every change, whether one directory event, an agreement, a system or a whole export file, is
applied to the mirror and then the grants it can affect are computed again; only those whose
content differs from what was last published go out on the compacted grants topic. So the same
file imported twice, or an event delivered twice, publishes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from access import store
from access.directory import DirectoryExport
from access.granting import (
    Computed,
    IntegratedSystem,
    comparable,
    employee_grant,
    system_grant,
    unit_grant,
)
from contracts.access_events import (
    AccessRoleChanged,
    AgreementSigned,
    AgreementTerminated,
    CareProviderChanged,
    CareUnitChanged,
    CareUnitGrant,
    CommissionChanged,
    EmployeeChanged,
    EmployeeGrant,
    IntegratedSystemChanged,
    SystemGrant,
    employee_key,
    unit_key,
)
from contracts.clock import today_in_sweden
from contracts.envelope import Event
from contracts.topics import ACCESS_GRANTS
from runtime.transaction import Transaction


@dataclass
class Affected:
    """Whose grants a change can alter."""

    units: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    systems: set[str] = field(default_factory=set)


async def compute(conn: Any, affected: Affected, today: date, now: datetime) -> list[Computed[Any]]:
    computed: list[Computed[Any]] = []
    for unit, agreement in await store.units_with_agreements(conn, affected.units):
        computed.append(unit_grant(unit, agreement, today, now))
    facts = await store.employee_facts(conn, affected.pairs)
    for (employee, care_unit), (in_directory, commissions, roles) in facts.items():
        computed.append(
            employee_grant(
                employee,
                care_unit,
                in_directory=in_directory,
                commissions=commissions,
                roles=roles,
                today=today,
                now=now,
            )
        )
    for system in (await store.systems(conn, affected.systems)).values():
        computed.append(system_grant(system, now))
    return computed


async def republish(tx: Transaction, affected: Affected, today: date | None = None) -> int:
    """Compute the affected grants again and publish those that changed. Returns how many were published."""
    today = today or today_in_sweden()
    computed = await compute(tx.conn, affected, today, datetime.now(UTC))
    before = await store.published(tx.conn, [c.key for c in computed])
    changed = [c for c in computed if before.get(c.key) != comparable(c.grant)]
    for item in changed:
        await tx.emit(ACCESS_GRANTS, item.key, item.grant)
    await store.save_published(tx.conn, [(c.key, comparable(c.grant), c.recheck_on) for c in computed])
    return len(changed)


async def sweep(tx: Transaction, today: date | None = None) -> int:
    """Grants the calendar has changed: a commission that ran out yesterday, an agreement terminated today."""
    today = today or today_in_sweden()
    affected = Affected()
    for key in await store.keys_due(tx.conn, today):
        kind, _, rest = key.partition("/")
        if kind == "unit":
            affected.units.add(rest)
        elif kind == "employee":
            employee, _, care_unit = rest.partition("/")
            affected.pairs.add((employee, care_unit))
        elif kind == "system":
            affected.systems.add(rest)
    return await republish(tx, affected, today)


# --- one change at a time -------------------------------------------------------------------------------


async def apply_directory_change(tx: Transaction, change: Event) -> int:
    """One change from the HSA feed; returns how many grants it changed."""
    conn = tx.conn
    affected = Affected()
    if isinstance(change, CareProviderChanged):
        if change.removed:
            await store.leave_directory(conn, "care_providers", [change.care_provider])
        else:
            await store.save_providers(conn, [{"hsa_id": change.care_provider, "name": change.name}])
        affected.units.update(await store.units_of_providers(conn, [change.care_provider]))
    elif isinstance(change, CareUnitChanged):
        if change.removed:
            await store.leave_directory(conn, "care_units", [change.care_unit])
        else:
            await store.save_units(
                conn,
                [
                    {
                        "hsa_id": change.care_unit,
                        "name": change.name,
                        "care_provider": change.care_provider,
                        "region": change.region,
                    }
                ],
            )
        affected.units.add(change.care_unit)
    elif isinstance(change, EmployeeChanged):
        if change.removed:
            await store.leave_directory(conn, "employees", [change.employee])
        else:
            await store.save_employees(conn, [{"hsa_id": change.employee, "name": change.name}])
        affected.pairs.update(await store.pairs_of_employees(conn, [change.employee]))
    elif isinstance(change, CommissionChanged):
        if change.removed:
            affected.pairs.update(await store.remove_commissions(conn, [change.commission_id]))
        else:
            row = change.model_dump(mode="python", exclude={"removed"})
            affected.pairs.update(await store.save_commissions(conn, [row]))
        affected.pairs.add((change.employee, change.care_unit))
    elif isinstance(change, AccessRoleChanged):
        if change.removed:
            await store.remove_role(conn, change.employee, change.care_unit, change.role)
        else:
            await store.add_roles(
                conn, [{"employee": change.employee, "care_unit": change.care_unit, "role": change.role.value}]
            )
        affected.pairs.add((change.employee, change.care_unit))
    else:
        raise TypeError(f"not a directory change: {type(change).__name__}")
    return await republish(tx, affected)


async def apply_agreement_change(tx: Transaction, change: Event) -> int:
    """An agreement signed or terminated, or an integrated system judged anew."""
    conn = tx.conn
    affected = Affected()
    if isinstance(change, AgreementSigned):
        await store.save_agreements(
            conn,
            [
                {
                    "care_provider": change.care_provider,
                    "region": change.region,
                    "signed_on": change.signed_on,
                    "terminated_on": None,
                }
            ],
        )
        affected.units.update(await store.units_of_providers(conn, [change.care_provider]))
    elif isinstance(change, AgreementTerminated):
        await store.terminate_agreement(conn, change.care_provider, change.terminated_on)
        affected.units.update(await store.units_of_providers(conn, [change.care_provider]))
    elif isinstance(change, IntegratedSystemChanged):
        await store.save_systems(
            conn,
            [
                IntegratedSystem(
                    change.system_id,
                    change.name,
                    change.certified,
                    change.suspended,
                    frozenset(change.approved_regions),
                )
            ],
        )
        affected.systems.add(change.system_id)
    else:
        raise TypeError(f"not an agreement or system change: {type(change).__name__}")
    return await republish(tx, affected)


# --- a whole export file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    full: bool
    care_providers: int
    care_units: int
    employees: int
    commissions: int
    access_roles: int
    agreements: int
    integrated_systems: int
    grants_published: int


async def import_export(tx: Transaction, export: DirectoryExport) -> ImportSummary:
    """Apply a directory export. A full one also ends whatever is missing from it, at once."""
    conn = tx.conn
    await store.save_providers(conn, [p.model_dump() for p in export.care_providers])
    await store.save_units(conn, [u.model_dump() for u in export.care_units])
    await store.save_employees(conn, [e.model_dump() for e in export.employees])
    await store.save_commissions(conn, [c.model_dump(mode="python") for c in export.commissions])
    roles = [{"employee": r.employee, "care_unit": r.care_unit, "role": r.role.value} for r in export.access_roles]
    await store.add_roles(conn, roles)
    if export.full:
        await store.leave_directory_unless_in(conn, "care_providers", [p.hsa_id for p in export.care_providers])
        await store.leave_directory_unless_in(conn, "care_units", [u.hsa_id for u in export.care_units])
        await store.leave_directory_unless_in(conn, "employees", [e.hsa_id for e in export.employees])
        await store.remove_commissions_unless_in(conn, [c.commission_id for c in export.commissions])
        await store.remove_roles_unless_in(conn, roles)
    await store.save_agreements(conn, [a.model_dump(mode="python") for a in export.agreements])
    await store.save_systems(
        conn,
        [
            IntegratedSystem(s.hsa_id, s.name, s.certified, s.suspended, frozenset(s.approved_regions))
            for s in export.integrated_systems
        ],
    )
    # Everything is looked at again: an export is rare, and a grant that did not change is not published.
    units, pairs, system_ids = await store.every_subject(conn)
    published = await republish(tx, Affected(set(units), pairs, set(system_ids)))
    return ImportSummary(
        full=export.full,
        care_providers=len(export.care_providers),
        care_units=len(export.care_units),
        employees=len(export.employees),
        commissions=len(export.commissions),
        access_roles=len(export.access_roles),
        agreements=len(export.agreements),
        integrated_systems=len(export.integrated_systems),
        grants_published=published,
    )


# --- the grants as they stand, for a decision -------------------------------------------------------------


@dataclass(frozen=True)
class CurrentGrants:
    acting_unit: CareUnitGrant | None
    employee: EmployeeGrant | None
    target_unit: CareUnitGrant | None
    system: SystemGrant | None


async def current_grants(
    conn: Any,
    *,
    employee: str,
    acting_unit: str,
    target_unit: str | None,
    system_id: str | None,
    today: date,
) -> CurrentGrants:
    """The grants as the mirror gives them now (not as last published), for the decision endpoint."""
    units = {u for u in (acting_unit, target_unit) if u}
    computed = await compute(
        conn, Affected(units, {(employee, acting_unit)}, {system_id} if system_id else set()), today, datetime.now(UTC)
    )
    by_key: dict[str, Any] = {c.key: c.grant for c in computed}
    return CurrentGrants(
        acting_unit=by_key.get(unit_key(acting_unit)),
        employee=by_key.get(employee_key(employee, acting_unit)),
        target_unit=by_key.get(unit_key(target_unit)) if target_unit else None,
        system=by_key.get(f"system/{system_id}") if system_id else None,
    )
