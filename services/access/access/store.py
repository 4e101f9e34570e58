"""Access's persistence: the HSA mirror, agreements, systems, the grants as last published, the audit log."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from access.granting import Agreement, Commission, IntegratedSystem, Unit
from contracts.access_events import AccessRole, AuditEntry


class Listed(NamedTuple):
    """A care provider or an employee as the directory lists it."""

    hsa_id: str
    name: str


class ListedUnit(NamedTuple):
    """A care unit as the directory lists it."""

    hsa_id: str
    name: str
    care_provider: str
    region: str


class RoleHeld(NamedTuple):
    """An e-frikort role an employee holds at a unit."""

    employee: str
    care_unit: str
    role: AccessRole

    def as_row(self) -> dict[str, str]:
        return {"employee": self.employee, "care_unit": self.care_unit, "role": self.role.value}


def _commission_row(commission: Commission) -> dict[str, Any]:
    return {
        "commission_id": commission.commission_id,
        "employee": commission.employee,
        "care_unit": commission.care_unit,
        "purpose": commission.purpose,
        "valid_from": commission.valid_from,
        "valid_to": commission.valid_to,
    }


def _agreement_row(agreement: Agreement) -> dict[str, Any]:
    return {
        "care_provider": agreement.care_provider,
        "region": agreement.region,
        "signed_on": agreement.signed_on,
        "terminated_on": agreement.terminated_on,
    }


# --- the mirror ------------------------------------------------------------------------------------

_UPSERT_PROVIDER = text(
    "INSERT INTO care_providers (hsa_id, name, in_directory) VALUES (:hsa_id, :name, true) "
    "ON CONFLICT (hsa_id) DO UPDATE SET name = excluded.name, in_directory = true"
)
_UPSERT_UNIT = text(
    "INSERT INTO care_units (hsa_id, name, care_provider, region, in_directory) "
    "VALUES (:hsa_id, :name, :care_provider, :region, true) ON CONFLICT (hsa_id) DO UPDATE SET "
    "name = excluded.name, care_provider = excluded.care_provider, region = excluded.region, in_directory = true"
)
_UPSERT_EMPLOYEE = text(
    "INSERT INTO employees (hsa_id, name, in_directory) VALUES (:hsa_id, :name, true) "
    "ON CONFLICT (hsa_id) DO UPDATE SET name = excluded.name, in_directory = true"
)
_UPSERT_COMMISSION = text(
    "INSERT INTO commissions (commission_id, employee, care_unit, purpose, valid_from, valid_to) "
    "VALUES (:commission_id, :employee, :care_unit, :purpose, :valid_from, :valid_to) "
    "ON CONFLICT (commission_id) DO UPDATE SET employee = excluded.employee, care_unit = excluded.care_unit, "
    "purpose = excluded.purpose, valid_from = excluded.valid_from, valid_to = excluded.valid_to "
    "RETURNING (SELECT NULL)"
)
_OLD_COMMISSION = text("SELECT employee, care_unit FROM commissions WHERE commission_id = ANY(CAST(:ids AS text[]))")
_ADD_ROLE = text(
    "INSERT INTO access_roles (employee, care_unit, role) VALUES (:employee, :care_unit, :role) ON CONFLICT DO NOTHING"
)
_OUT_OF_DIRECTORY = {
    table: text(f"UPDATE {table} SET in_directory = false WHERE hsa_id = ANY(CAST(:ids AS text[]))")
    for table in ("care_providers", "care_units", "employees")
}
_NOT_IN = {
    table: text(f"UPDATE {table} SET in_directory = false WHERE in_directory AND hsa_id <> ALL(CAST(:ids AS text[]))")
    for table in ("care_providers", "care_units", "employees")
}


async def save_providers(conn: AsyncConnection, providers: Sequence[Listed]) -> None:
    if providers:
        await conn.execute(_UPSERT_PROVIDER, [p._asdict() for p in providers])


async def save_units(conn: AsyncConnection, units: Sequence[ListedUnit]) -> None:
    if units:
        await conn.execute(_UPSERT_UNIT, [u._asdict() for u in units])


async def save_employees(conn: AsyncConnection, employees: Sequence[Listed]) -> None:
    if employees:
        await conn.execute(_UPSERT_EMPLOYEE, [e._asdict() for e in employees])


async def leave_directory(conn: AsyncConnection, table: str, hsa_ids: Sequence[str]) -> None:
    """Providers, units or employees that have left HSA."""
    await conn.execute(_OUT_OF_DIRECTORY[table], {"ids": list(hsa_ids)})


async def leave_directory_unless_in(conn: AsyncConnection, table: str, hsa_ids: Sequence[str]) -> None:
    """A full export: whoever is not in it has left."""
    await conn.execute(_NOT_IN[table], {"ids": list(hsa_ids)})


async def save_commissions(conn: AsyncConnection, commissions: Sequence[Commission]) -> set[tuple[str, str]]:
    """Returns the (employee, unit) pairs a commission was at before, since a commission may move."""
    if not commissions:
        return set()
    before = await conn.execute(_OLD_COMMISSION, {"ids": [c.commission_id for c in commissions]})
    pairs = {(r.employee, r.care_unit) for r in before}
    await conn.execute(_UPSERT_COMMISSION, [_commission_row(c) for c in commissions])
    return pairs


async def remove_commissions(conn: AsyncConnection, commission_ids: Sequence[str]) -> set[tuple[str, str]]:
    result = await conn.execute(
        text("DELETE FROM commissions WHERE commission_id = ANY(CAST(:ids AS text[])) RETURNING employee, care_unit"),
        {"ids": list(commission_ids)},
    )
    return {(r.employee, r.care_unit) for r in result}


async def remove_commissions_unless_in(conn: AsyncConnection, commission_ids: Sequence[str]) -> set[tuple[str, str]]:
    result = await conn.execute(
        text("DELETE FROM commissions WHERE commission_id <> ALL(CAST(:ids AS text[])) RETURNING employee, care_unit"),
        {"ids": list(commission_ids)},
    )
    return {(r.employee, r.care_unit) for r in result}


async def add_roles(conn: AsyncConnection, roles: Sequence[RoleHeld]) -> None:
    if roles:
        await conn.execute(_ADD_ROLE, [r.as_row() for r in roles])


async def remove_role(conn: AsyncConnection, employee: str, care_unit: str, role: AccessRole) -> None:
    await conn.execute(
        text("DELETE FROM access_roles WHERE employee = :employee AND care_unit = :care_unit AND role = :role"),
        {"employee": employee, "care_unit": care_unit, "role": role.value},
    )


async def remove_roles_unless_in(conn: AsyncConnection, roles: Sequence[RoleHeld]) -> set[tuple[str, str]]:
    keep = [f"{r.employee}\x1f{r.care_unit}\x1f{r.role.value}" for r in roles]
    result = await conn.execute(
        text(
            "DELETE FROM access_roles WHERE employee || chr(31) || care_unit || chr(31) || role "
            "<> ALL(CAST(:keep AS text[])) RETURNING employee, care_unit"
        ),
        {"keep": keep},
    )
    return {(r.employee, r.care_unit) for r in result}


# --- agreements and systems -------------------------------------------------------------------------


async def save_agreements(conn: AsyncConnection, agreements: Sequence[Agreement]) -> None:
    if agreements:
        await conn.execute(
            text(
                "INSERT INTO agreements (care_provider, region, signed_on, terminated_on) "
                "VALUES (:care_provider, :region, :signed_on, :terminated_on) "
                "ON CONFLICT (care_provider) DO UPDATE SET "
                "region = excluded.region, signed_on = excluded.signed_on, terminated_on = excluded.terminated_on"
            ),
            [_agreement_row(a) for a in agreements],
        )


async def terminate_agreement(conn: AsyncConnection, care_provider: str, terminated_on: date) -> bool:
    """False when the provider never signed."""
    result = await conn.execute(
        text("UPDATE agreements SET terminated_on = :on WHERE care_provider = :provider RETURNING 1"),
        {"provider": care_provider, "on": terminated_on},
    )
    return result.scalar() is not None


async def save_systems(conn: AsyncConnection, systems: Sequence[IntegratedSystem]) -> None:
    if not systems:
        return
    await conn.execute(
        text(
            "INSERT INTO integrated_systems (system_id, name, certified, suspended) "
            "VALUES (:system_id, :name, :certified, :suspended) ON CONFLICT (system_id) DO UPDATE SET "
            "name = excluded.name, certified = excluded.certified, suspended = excluded.suspended"
        ),
        [
            {"system_id": s.system_id, "name": s.name, "certified": s.certified, "suspended": s.suspended}
            for s in systems
        ],
    )
    await conn.execute(
        text("DELETE FROM system_approvals WHERE system_id = ANY(CAST(:ids AS text[]))"),
        {"ids": [s.system_id for s in systems]},
    )
    approvals = [{"system_id": s.system_id, "region": r} for s in systems for r in s.approved_regions]
    if approvals:
        await conn.execute(
            text("INSERT INTO system_approvals (system_id, region) VALUES (:system_id, :region)"), approvals
        )


# --- the facts grants are computed from ---------------------------------------------------------------


async def units_with_agreements(
    conn: AsyncConnection, care_units: Iterable[str]
) -> list[tuple[Unit, Agreement | None]]:
    result = await conn.execute(
        text(
            "SELECT u.hsa_id, u.care_provider, u.region, u.in_directory AND coalesce(p.in_directory, false) AS active, "
            "a.region AS agreement_region, a.signed_on, a.terminated_on FROM care_units u "
            "LEFT JOIN care_providers p ON p.hsa_id = u.care_provider "
            "LEFT JOIN agreements a ON a.care_provider = u.care_provider WHERE u.hsa_id = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": list(care_units)},
    )
    return [
        (
            Unit(r.hsa_id, r.care_provider, r.region, r.active),
            Agreement(r.care_provider, r.agreement_region, r.signed_on, r.terminated_on) if r.signed_on else None,
        )
        for r in result
    ]


async def units_of_providers(conn: AsyncConnection, care_providers: Iterable[str]) -> list[str]:
    result = await conn.execute(
        text("SELECT hsa_id FROM care_units WHERE care_provider = ANY(CAST(:ids AS text[]))"),
        {"ids": list(care_providers)},
    )
    return list(result.scalars())


async def employee_facts(
    conn: AsyncConnection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[bool, list[Commission], list[AccessRole]]]:
    """For each (employee, unit): whether the employee is in the directory, the commissions there, the roles."""
    wanted = sorted(set(pairs))
    employees = sorted({e for e, _ in wanted})
    present = set(
        (
            await conn.execute(
                text("SELECT hsa_id FROM employees WHERE in_directory AND hsa_id = ANY(CAST(:ids AS text[]))"),
                {"ids": employees},
            )
        ).scalars()
    )
    commissions: dict[tuple[str, str], list[Commission]] = defaultdict(list)
    for r in await conn.execute(
        text(
            "SELECT commission_id, employee, care_unit, purpose, valid_from, valid_to FROM commissions "
            "WHERE employee = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": employees},
    ):
        commissions[(r.employee, r.care_unit)].append(
            Commission(r.commission_id, r.employee, r.care_unit, r.purpose, r.valid_from, r.valid_to)
        )
    roles: dict[tuple[str, str], list[AccessRole]] = defaultdict(list)
    for r in await conn.execute(
        text("SELECT employee, care_unit, role FROM access_roles WHERE employee = ANY(CAST(:ids AS text[]))"),
        {"ids": employees},
    ):
        roles[(r.employee, r.care_unit)].append(AccessRole(r.role))
    return {pair: (pair[0] in present, commissions[pair], roles[pair]) for pair in wanted}


async def pairs_of_employees(conn: AsyncConnection, employees: Iterable[str]) -> set[tuple[str, str]]:
    """Every unit an employee has, or had when its grant was last published, a commission or role at."""
    ids = list(employees)
    result = await conn.execute(
        text(
            "SELECT employee, care_unit FROM commissions WHERE employee = ANY(CAST(:ids AS text[])) UNION "
            "SELECT employee, care_unit FROM access_roles WHERE employee = ANY(CAST(:ids AS text[])) UNION "
            "SELECT grant_->>'employee', grant_->>'care_unit' FROM (SELECT content AS grant_ FROM published_grants "
            "WHERE key LIKE 'employee/%') g WHERE grant_->>'employee' = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": ids},
    )
    return {(r[0], r[1]) for r in result}


async def systems(conn: AsyncConnection, system_ids: Iterable[str]) -> dict[str, IntegratedSystem]:
    result = await conn.execute(
        text(
            "SELECT s.system_id, s.name, s.certified, s.suspended, "
            "coalesce(array_agg(a.region) FILTER (WHERE a.region IS NOT NULL), '{}') AS regions "
            "FROM integrated_systems s LEFT JOIN system_approvals a ON a.system_id = s.system_id "
            "WHERE s.system_id = ANY(CAST(:ids AS text[])) GROUP BY s.system_id"
        ),
        {"ids": list(system_ids)},
    )
    return {
        r.system_id: IntegratedSystem(r.system_id, r.name, r.certified, r.suspended, frozenset(r.regions))
        for r in result
    }


async def every_subject(conn: AsyncConnection) -> tuple[list[str], set[tuple[str, str]], list[str]]:
    """Every unit, (employee, unit) pair and system there is or was a grant for."""
    units = list((await conn.execute(text("SELECT hsa_id FROM care_units"))).scalars())
    pairs = {
        (r[0], r[1])
        for r in await conn.execute(
            text(
                "SELECT employee, care_unit FROM commissions UNION SELECT employee, care_unit FROM access_roles UNION "
                "SELECT content->>'employee', content->>'care_unit' FROM published_grants WHERE key LIKE 'employee/%'"
            )
        )
    }
    system_ids = list((await conn.execute(text("SELECT system_id FROM integrated_systems"))).scalars())
    return units, pairs, system_ids


# --- grants as last published --------------------------------------------------------------------------


async def published(conn: AsyncConnection, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    result = await conn.execute(
        text("SELECT key, content FROM published_grants WHERE key = ANY(CAST(:keys AS text[]))"), {"keys": list(keys)}
    )
    return {r.key: r.content for r in result}


async def save_published(conn: AsyncConnection, rows: Sequence[tuple[str, dict[str, Any], date | None]]) -> None:
    if rows:
        await conn.execute(
            text(
                "INSERT INTO published_grants (key, content, recheck_on) "
                "VALUES (:key, CAST(:content AS jsonb), :recheck_on) "
                "ON CONFLICT (key) DO UPDATE SET content = excluded.content, recheck_on = excluded.recheck_on"
            ),
            [{"key": key, "content": json.dumps(grant), "recheck_on": recheck} for key, grant, recheck in rows],
        )


async def set_recheck(conn: AsyncConnection, rows: Sequence[tuple[str, date | None]]) -> None:
    if rows:
        await conn.execute(
            text("UPDATE published_grants SET recheck_on = :recheck_on WHERE key = :key"),
            [{"key": key, "recheck_on": recheck} for key, recheck in rows],
        )


async def keys_due(conn: AsyncConnection, today: date) -> list[str]:
    """Grants that the passing of time may have changed by `today`."""
    result = await conn.execute(text("SELECT key FROM published_grants WHERE recheck_on <= :today"), {"today": today})
    return list(result.scalars())


# --- the audit log --------------------------------------------------------------------------------------


async def add_audit_entries(conn: AsyncConnection, entries: Sequence[tuple[str, AuditEntry]]) -> None:
    """Entries by their event id; one delivered twice is kept once."""
    if entries:
        await conn.execute(
            text(
                "INSERT INTO audit_entries (event_id, patient_key, actor, system_id, care_unit, action, service, "
                "subject, occurred_at) VALUES (CAST(:event_id AS uuid), :patient_key, :actor, :system_id, :care_unit, "
                ":action, :service, :subject, :occurred_at) ON CONFLICT DO NOTHING"
            ),
            [{"event_id": event_id, **entry.model_dump(mode="python")} for event_id, entry in entries],
        )


async def audit_trail(conn: AsyncConnection, patient_key: str, limit: int) -> list[AuditEntry]:
    result = await conn.execute(
        text(
            "SELECT patient_key, actor, system_id, care_unit, action, service, subject, occurred_at FROM audit_entries "
            "WHERE patient_key = :key ORDER BY occurred_at DESC LIMIT :limit"
        ),
        {"key": patient_key, "limit": limit},
    )
    return [AuditEntry.model_validate(dict(r)) for r in result.mappings()]


# --- what the admin pages list --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderAgreement:
    """A care provider of the mirror, and its agreement with the region when it has one."""

    care_provider: str
    name: str
    in_directory: bool
    agreement: Agreement | None


async def provider_agreements(conn: AsyncConnection) -> list[ProviderAgreement]:
    """Every care provider known, with its agreement, by HSA-ID."""
    result = await conn.execute(
        text(
            "SELECT p.hsa_id, p.name, p.in_directory, a.region, a.signed_on, a.terminated_on FROM care_providers p "
            "LEFT JOIN agreements a ON a.care_provider = p.hsa_id ORDER BY p.hsa_id"
        )
    )
    return [
        ProviderAgreement(
            r.hsa_id,
            r.name,
            r.in_directory,
            Agreement(r.hsa_id, r.region, r.signed_on, r.terminated_on) if r.signed_on else None,
        )
        for r in result
    ]


async def every_system(conn: AsyncConnection) -> list[IntegratedSystem]:
    """Every integrated system judged, by HSA-ID."""
    ids = list((await conn.execute(text("SELECT system_id FROM integrated_systems"))).scalars())
    found = await systems(conn, ids)
    return [found[system_id] for system_id in sorted(found)]


async def unit_names(conn: AsyncConnection, care_units: Iterable[str]) -> dict[str, str]:
    result = await conn.execute(
        text("SELECT hsa_id, name FROM care_units WHERE hsa_id = ANY(CAST(:ids AS text[]))"), {"ids": list(care_units)}
    )
    return {r.hsa_id: r.name for r in result}
