"""Keeping the mirror and publishing the grants that follow from it.

Every change, whether one directory event, an agreement, a system or a whole export file, is
applied to the mirror and then the grants it can affect are computed again; only those whose
content differs from what was last published go out on the compacted grants topic. So the same
file imported twice, or an event delivered twice, publishes nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from access import store
from access.directory import CommissionEntry, DirectoryExport
from access.granting import (
    Agreement,
    Commission,
    Computed,
    IntegratedSystem,
    comparable,
    employee_grant,
    system_grant,
    unit_grant,
)
from access.store import Listed, ListedUnit, RoleHeld
from contracts.access_events import (
    AccessRole,
    AccessRoleChanged,
    AgreementSigned,
    AgreementTerminated,
    CareProviderChanged,
    CareUnitChanged,
    CommissionChanged,
    EmployeeChanged,
    IntegratedSystemChanged,
)
from contracts.authorization import Action, Decision
from contracts.clock import now, today_in_sweden
from contracts.envelope import Event
from contracts.topics import ACCESS_GRANTS
from runtime.access_grants import Grants
from runtime.identity import Caller
from runtime.transaction import Transaction, UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from runtime.service import Runtime

log = logging.getLogger(__name__)


@dataclass
class Affected:
    """Whose grants a change can alter."""

    units: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    systems: set[str] = field(default_factory=set)


async def compute(conn: AsyncConnection, affected: Affected, today: date, at: datetime) -> list[Computed[Any]]:
    """The grants of everyone affected, as the mirror gives them on `today`, stamped as computed `at`."""
    computed: list[Computed[Any]] = []
    for unit, agreement in await store.units_with_agreements(conn, affected.units):
        computed.append(unit_grant(unit, agreement, today, at))
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
                now=at,
            )
        )
    for system in (await store.systems(conn, affected.systems)).values():
        computed.append(system_grant(system, at))
    return computed


async def republish(tx: Transaction, affected: Affected, today: date | None = None) -> int:
    """Compute the affected grants again and publish those that changed. Returns how many were published."""
    today = today or today_in_sweden()
    computed = await compute(tx.conn, affected, today, now())
    before = await store.published(tx.conn, [c.key for c in computed])
    changed = [c for c in computed if before.get(c.key) != comparable(c.grant)]
    for item in changed:
        await tx.emit(ACCESS_GRANTS, item.key, item.grant)
    await store.save_published(tx.conn, [(c.key, comparable(c.grant), c.recheck_on) for c in computed])
    return len(changed)


# --- the calendar ---------------------------------------------------------------------------------------


async def sweep(tx: Transaction, today: date | None = None) -> int:
    """Grants the calendar has changed: a commission that ran out yesterday, an agreement terminated today."""
    today = today or today_in_sweden()
    return await republish(tx, _whose(await store.keys_due(tx.conn, today)), today)


def _whose(grant_keys: list[str]) -> Affected:
    """The units, (employee, unit) pairs and systems the grant keys are of."""
    affected = Affected()
    for key in grant_keys:
        match key.partition("/"):
            case ("unit", _, care_unit):
                affected.units.add(care_unit)
            case ("employee", _, pair):
                employee, _, care_unit = pair.partition("/")
                affected.pairs.add((employee, care_unit))
            case ("system", _, system_id):
                affected.systems.add(system_id)
    return affected


async def keep_sweeping(_: Runtime[Any], *, work: UnitOfWork, interval_s: float) -> None:
    """The background task of the calendar: `sweep` every `interval_s`; a failed round is tried again the next."""
    while True:
        try:
            # Each round is a piece of work of its own: a fresh correlation id, not one shared by every round.
            async with work.begin(correlation_id=str(uuid.uuid4())) as tx:
                published = await sweep(tx)
            if published:
                log.info("grant sweep: %d grants changed with the date", published)
        except Exception:
            log.warning("grant sweep failed; trying again next round", exc_info=True)
        await asyncio.sleep(interval_s)


# --- one change at a time -------------------------------------------------------------------------------


async def apply_directory_change(tx: Transaction, change: Event) -> int:
    """One change from the HSA feed; returns how many grants it changed."""
    conn = tx.conn
    match change:
        case CareProviderChanged() as provider:
            affected = await _provider_changed(conn, provider)
        case CareUnitChanged() as unit:
            affected = await _unit_changed(conn, unit)
        case EmployeeChanged() as employee:
            affected = await _employee_changed(conn, employee)
        case CommissionChanged() as commission:
            affected = await _commission_changed(conn, commission)
        case AccessRoleChanged() as role:
            affected = await _role_changed(conn, role)
        case _:
            raise TypeError(f"not a directory change: {type(change).__name__}")
    return await republish(tx, affected)


async def _provider_changed(conn: AsyncConnection, change: CareProviderChanged) -> Affected:
    if change.removed:
        await store.leave_directory(conn, "care_providers", [change.care_provider])
    else:
        await store.save_providers(conn, [Listed(change.care_provider, change.name)])
    return Affected(units=set(await store.units_of_providers(conn, [change.care_provider])))


async def _unit_changed(conn: AsyncConnection, change: CareUnitChanged) -> Affected:
    if change.removed:
        await store.leave_directory(conn, "care_units", [change.care_unit])
    else:
        await store.save_units(conn, [ListedUnit(change.care_unit, change.name, change.care_provider, change.region)])
    return Affected(units={change.care_unit})


async def _employee_changed(conn: AsyncConnection, change: EmployeeChanged) -> Affected:
    if change.removed:
        await store.leave_directory(conn, "employees", [change.employee])
    else:
        await store.save_employees(conn, [Listed(change.employee, change.name)])
    return Affected(pairs=await store.pairs_of_employees(conn, [change.employee]))


async def _commission_changed(conn: AsyncConnection, change: CommissionChanged) -> Affected:
    """The pairs the commission was at before count too: a commission may move to another unit."""
    if change.removed:
        before = await store.remove_commissions(conn, [change.commission_id])
    else:
        before = await store.save_commissions(conn, [_commission(change)])
    return Affected(pairs={*before, (change.employee, change.care_unit)})


def _commission(commission: CommissionChanged | CommissionEntry) -> Commission:
    return Commission(
        commission.commission_id,
        commission.employee,
        commission.care_unit,
        commission.purpose,
        commission.valid_from,
        commission.valid_to,
    )


async def _role_changed(conn: AsyncConnection, change: AccessRoleChanged) -> Affected:
    if change.removed:
        await store.remove_role(conn, change.employee, change.care_unit, change.role)
    else:
        await store.add_roles(conn, [RoleHeld(change.employee, change.care_unit, change.role)])
    return Affected(pairs={(change.employee, change.care_unit)})


async def apply_agreement_change(tx: Transaction, change: Event) -> int:
    """An agreement signed or terminated, or an integrated system judged anew."""
    conn = tx.conn
    match change:
        case AgreementSigned() as signed:
            await store.save_agreements(conn, [Agreement(signed.care_provider, signed.region, signed.signed_on)])
            affected = Affected(units=set(await store.units_of_providers(conn, [signed.care_provider])))
        case AgreementTerminated() as terminated:
            await store.terminate_agreement(conn, terminated.care_provider, terminated.terminated_on)
            affected = Affected(units=set(await store.units_of_providers(conn, [terminated.care_provider])))
        case IntegratedSystemChanged() as system:
            judged = IntegratedSystem(
                system.system_id, system.name, system.certified, system.suspended, frozenset(system.approved_regions)
            )
            await store.save_systems(conn, [judged])
            affected = Affected(systems={system.system_id})
        case _:
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
    await store.save_providers(conn, [Listed(p.hsa_id, p.name) for p in export.care_providers])
    await store.save_units(conn, [ListedUnit(u.hsa_id, u.name, u.care_provider, u.region) for u in export.care_units])
    await store.save_employees(conn, [Listed(e.hsa_id, e.name) for e in export.employees])
    await store.save_commissions(conn, [_commission(c) for c in export.commissions])
    roles = [RoleHeld(r.employee, r.care_unit, r.role) for r in export.access_roles]
    await store.add_roles(conn, roles)
    if export.full:
        await store.leave_directory_unless_in(conn, "care_providers", [p.hsa_id for p in export.care_providers])
        await store.leave_directory_unless_in(conn, "care_units", [u.hsa_id for u in export.care_units])
        await store.leave_directory_unless_in(conn, "employees", [e.hsa_id for e in export.employees])
        await store.remove_commissions_unless_in(conn, [c.commission_id for c in export.commissions])
        await store.remove_roles_unless_in(conn, roles)
    agreements = [Agreement(a.care_provider, a.region, a.signed_on, a.terminated_on) for a in export.agreements]
    await store.save_agreements(conn, agreements)
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


async def grants_now(conn: AsyncConnection, affected: Affected, today: date) -> Grants:
    """The grants as the mirror gives them now (not as last published): what access decides with."""
    return Grants({c.key: c.grant for c in await compute(conn, affected, today, now())})


async def decide_for_caller(
    conn: AsyncConnection, caller: Caller, action: Action, *, region: str, acting_unit: str | None
) -> Decision:
    """May the HTTP caller do `action`, acting for `acting_unit` or else for whichever of their units
    allows it? The same question, answered the same way, as every other service asks its read model."""
    today = today_in_sweden()
    pairs = {(caller.hsa_id, acting_unit)} if acting_unit else await store.pairs_of_employees(conn, [caller.hsa_id])
    systems = {caller.system_id} if caller.system_id else set()
    grants = await grants_now(conn, Affected({unit for _, unit in pairs}, pairs, systems), today)
    return grants.decide_for_caller(action, caller, region=region, today=today, acting_unit=acting_unit)


async def decide_for_employee(
    conn: AsyncConnection,
    action: Action,
    *,
    region: str,
    employee: str,
    acting_unit: str,
    target_unit: str | None,
    system_id: str | None,
) -> Decision:
    """May `employee`, acting for `acting_unit` (through `system_id`), do `action` on what belongs to
    `target_unit`? The question of the decision endpoint, about anyone."""
    today = today_in_sweden()
    affected = Affected(
        {unit for unit in (acting_unit, target_unit) if unit},
        {(employee, acting_unit)},
        {system_id} if system_id else set(),
    )
    grants = await grants_now(conn, affected, today)
    return grants.decide(
        action,
        region=region,
        acting_unit=acting_unit,
        employee=employee,
        today=today,
        target_unit=target_unit,
        system_id=system_id,
    )


@dataclass(frozen=True)
class UnitOfCaller:
    """A unit the caller may act for now, and what they may do there (their medarbetaruppdrag and role)."""

    care_unit: str
    unit_name: str
    care_provider: str
    region: str
    role: AccessRole | None
    actions: list[Action]


async def units_of_caller(conn: AsyncConnection, caller: Caller, *, region: str) -> list[UnitOfCaller]:
    """Every unit of the served `region` where the caller may do anything at all now, by the one decision:
    an active commission with a role, a provider with an agreement in force (and, through a system, an
    approved one)."""
    today = today_in_sweden()
    pairs = await store.pairs_of_employees(conn, [caller.hsa_id])
    systems = {caller.system_id} if caller.system_id else set()
    grants = await grants_now(conn, Affected({unit for _, unit in pairs}, pairs, systems), today)
    names = await store.unit_names(conn, [unit for _, unit in pairs])
    found: list[UnitOfCaller] = []
    for unit in sorted(unit for _, unit in pairs):
        allowed = [
            action
            for action in Action
            if grants.decide(
                action, region=region, acting_unit=unit, employee=caller.hsa_id, today=today, system_id=caller.system_id
            ).allowed
        ]
        unit_grant, employee_grant = grants.unit(unit), grants.employee(caller.hsa_id, unit)
        if allowed and unit_grant is not None and employee_grant is not None:
            found.append(
                UnitOfCaller(
                    unit, names.get(unit, ""), unit_grant.care_provider, unit_grant.region, employee_grant.role, allowed
                )
            )
    return found
