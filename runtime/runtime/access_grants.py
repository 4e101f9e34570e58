"""The access grants (behörigheter) as every deciding service keeps them, and the one way it asks them.

The access service publishes the facts on the compacted `efrikort.access-grants.v1`, one record per
key, the latest winning. A service that decides keeps its own read model of that topic, in its own
schema (no service reads another's tables):

- the table, `access_grants`: created by the service's own migration with `create_grants_table()`;
- the consumer, `grants_consumer(<service>)`: keeps the latest grant per key, a tombstone removes it;
- the questions: `Grants.decide` for a submission that names its unit, employee and system, and
  `authorize` for an HTTP caller, both decided by the one shared `contracts.authorization.decide`;
- the refusal, `refused` (or `require` in a route): a 403 problem document whose code is the denial.

The table has no `patient_key`: a patient's exit leaves it alone, as it should.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TEXT
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.access_events import (
    CareUnitGrant,
    EmployeeGrant,
    SystemGrant,
    employee_key,
    grant_key,
    system_key,
    unit_key,
)
from contracts.authorization import Action, Decision, Denial, decide
from contracts.clock import today_in_sweden
from contracts.envelope import Envelope
from contracts.topics import ACCESS_GRANTS
from runtime.consumers import Consumer, Delivery, InvalidMessage
from runtime.identity import Caller
from runtime.problems import Problem, Reason, refusal
from runtime.transaction import Transaction

Grant = CareUnitGrant | EmployeeGrant | SystemGrant
GRANT_TYPES: dict[str, type[Grant]] = {kind.event_type: kind for kind in (CareUnitGrant, EmployeeGrant, SystemGrant)}

TABLE = "access_grants"


def keys_for(care_unit: str, employee: str, system_id: str | None) -> list[str]:
    """The grants one decision reads."""
    keys = [unit_key(care_unit), employee_key(employee, care_unit)]
    if system_id is not None:
        keys.append(system_key(system_id))
    return keys


# --- the questions: plain Python -----------------------------------------------------------------


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
        region: str,
        acting_unit: str,
        employee: str,
        today: date,
        target_unit: str | None = None,
        system_id: str | None = None,
    ) -> Decision:
        """May `employee`, acting for `acting_unit` (through `system_id` when given), do `action` on
        something of `target_unit`, in the deployment that serves `region`?"""
        return decide(
            action,
            region=region,
            acting_unit=self.unit(acting_unit),
            employee=self.employee(employee, acting_unit),
            target_unit=self.unit(target_unit) if target_unit is not None else None,
            system=self.system(system_id) if system_id is not None else None,
            through_system=system_id is not None,
            today=today,
        )

    def units_of(self, employee: str) -> list[str]:
        """Units where the employee holds a grant, of those loaded."""
        return [g.care_unit for g in self.by_key.values() if isinstance(g, EmployeeGrant) and g.employee == employee]

    def decide_for_caller(
        self,
        action: Action,
        caller: Caller,
        *,
        region: str,
        today: date,
        acting_unit: str | None = None,
        target_unit: str | None = None,
    ) -> Decision:
        """May the caller do `action` on what belongs to `target_unit` (or on what is not any one
        unit's, when None)? They act for `acting_unit` when they name one, else for whichever of
        their units allows it."""
        # Their own units first: when none allows it, the refusal then says why at a unit they work for
        # (the same one each time: sorted, not in the order the rows happen to come back).
        units = (
            [acting_unit]
            if acting_unit
            else list(dict.fromkeys([*sorted(self.units_of(caller.hsa_id)), *([target_unit] if target_unit else [])]))
        )
        if not units:
            return Decision.deny(Denial.NO_COMMISSION, "the caller holds no commission at any unit known to e-frikort")
        decisions = [
            self.decide(
                action,
                region=region,
                acting_unit=unit,
                employee=caller.hsa_id,
                target_unit=target_unit,
                system_id=caller.system_id,
                today=today,
            )
            for unit in units
        ]
        # The unit it is allowed at is the one the caller acts for, which the audit log names.
        allowed = (replace(d, acting_unit=unit) for unit, d in zip(units, decisions, strict=True) if d.allowed)
        return next(allowed, decisions[0])


def refused(decision: Decision) -> Problem:
    """403, naming the denial as the problem's code, so a caller can tell what is missing."""
    assert decision.denial is not None, "an allowed decision is not refused"
    return refusal(
        403, "Not allowed", [Reason(code=decision.denial.value, field=decision.field, message=decision.message)]
    )


# --- the table -----------------------------------------------------------------------------------


def create_grants_table() -> None:
    """The grants read model, created by a service's own migration in its own schema: the compacted
    topic as the service last saw it, one row per key, the latest `changed_at` winning."""
    op.create_table(
        TABLE,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("grant", JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


_UPSERT_GRANTS = text(
    f'INSERT INTO {TABLE} (key, event_type, "grant", changed_at) '
    "SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:types AS text[]), CAST(CAST(:grants AS text[]) AS jsonb[]), "
    "CAST(:changed AS timestamptz[])) "
    'ON CONFLICT (key) DO UPDATE SET event_type = excluded.event_type, "grant" = excluded."grant", '
    f"changed_at = excluded.changed_at WHERE {TABLE}.changed_at <= excluded.changed_at"
)
_REMOVE_GRANTS = text(f"DELETE FROM {TABLE} WHERE key = ANY(:keys)").bindparams(bindparam("keys", type_=ARRAY(TEXT)))
_GRANT_COLUMNS = 'key, event_type, CAST("grant" AS text) AS "grant"'
_GRANTS = text(f"SELECT {_GRANT_COLUMNS} FROM {TABLE} WHERE key = ANY(:keys)").bindparams(
    bindparam("keys", type_=ARRAY(TEXT))
)
_EMPLOYEE_GRANTS = text(
    f"SELECT {_GRANT_COLUMNS} FROM {TABLE} WHERE key LIKE :prefix ESCAPE '\\' "
    f"OR key IN (SELECT 'unit/' || (\"grant\" ->> 'care_unit') FROM {TABLE} WHERE key LIKE :prefix ESCAPE '\\')"
)


async def upsert_grants(conn: AsyncConnection, grants: Sequence[tuple[str, Grant]]) -> None:
    """Keep the latest grant per key: an older one arriving late changes nothing."""
    latest: dict[str, Grant] = {}
    for key, grant in grants:
        if key not in latest or latest[key].changed_at <= grant.changed_at:
            latest[key] = grant
    if not latest:
        return
    keys = sorted(latest)
    await conn.execute(
        _UPSERT_GRANTS,
        {
            "keys": keys,
            "types": [latest[k].event_type for k in keys],
            "grants": [latest[k].model_dump_json() for k in keys],
            "changed": [latest[k].changed_at for k in keys],
        },
    )


async def remove_grants(conn: AsyncConnection, keys: Sequence[str]) -> None:
    """A tombstone on the compacted topic: the key is gone."""
    if keys:
        await conn.execute(_REMOVE_GRANTS, {"keys": list(keys)})


def _grants_from(rows: Iterable[Any]) -> Grants:
    by_key: dict[str, Grant] = {}
    for row in rows:
        kind = GRANT_TYPES.get(row.event_type)
        if kind is not None:
            by_key[row.key] = kind.model_validate_json(row.grant)
    return Grants(by_key)


async def grants(conn: AsyncConnection, keys: Iterable[str]) -> Grants:
    wanted = sorted(set(keys))
    if not wanted:
        return Grants({})
    return _grants_from(await conn.execute(_GRANTS, {"keys": wanted}))


async def grants_of_employee(conn: AsyncConnection, employee: str, extra_keys: Iterable[str] = ()) -> Grants:
    """Every grant the employee holds, the units they are for, and `extra_keys`."""
    escaped = employee.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = dict(_grants_from(await conn.execute(_EMPLOYEE_GRANTS, {"prefix": f"employee/{escaped}/%"})).by_key)
    found.update((await grants(conn, extra_keys)).by_key)
    return Grants(found)


async def authorize(
    conn: AsyncConnection,
    caller: Caller,
    action: Action,
    *,
    region: str,
    acting_unit: str | None = None,
    target_unit: str | None = None,
    today: date | None = None,
) -> Decision:
    """May the HTTP caller do `action` (see `Grants.decide_for_caller`), by this service's read model?"""
    extra = [unit_key(unit) for unit in (acting_unit, target_unit) if unit]
    if caller.system_id:
        extra.append(system_key(caller.system_id))
    held = await grants_of_employee(conn, caller.hsa_id, extra)
    return held.decide_for_caller(
        action,
        caller,
        region=region,
        today=today or today_in_sweden(),
        acting_unit=acting_unit,
        target_unit=target_unit,
    )


async def require(
    conn: AsyncConnection,
    caller: Caller,
    action: Action,
    *,
    region: str,
    acting_unit: str | None = None,
    target_unit: str | None = None,
) -> str:
    """`authorize`, for a route: raises the 403 problem when the caller may not, and otherwise returns the
    unit they act for (for the audit log). `region` is the one the deployment serves (`settings.region`):
    a caller acting for a unit of another region is refused."""
    decision = await authorize(conn, caller, action, region=region, acting_unit=acting_unit, target_unit=target_unit)
    if not decision.allowed:
        raise refused(decision)
    assert decision.acting_unit is not None, "a caller is allowed acting for a unit"
    return decision.acting_unit


# --- the consumer --------------------------------------------------------------------------------


async def on_access_grants(deliveries: Sequence[Delivery], tx: Transaction) -> None:
    """The grants read model: the latest grant per key; a tombstone removes the key."""
    latest: dict[str, Grant | None] = {}
    for delivery in deliveries:
        if delivery.value:
            grant = _grant(delivery)
            latest[grant_key(grant)] = grant
        elif delivery.key:
            latest[delivery.key.decode("utf-8", "replace")] = None
    await remove_grants(tx.conn, [key for key, grant in latest.items() if grant is None])
    await upsert_grants(tx.conn, [(key, grant) for key, grant in latest.items() if grant is not None])


def _grant(delivery: Delivery) -> Grant:
    try:
        event_type = json.loads(delivery.value).get("event_type")
    except (ValueError, AttributeError):
        raise InvalidMessage("a grant must be an event envelope in JSON") from None
    kind = GRANT_TYPES.get(event_type)
    if kind is None:
        raise InvalidMessage(f"not a grant event: {str(event_type)[:80]}")
    envelope: Envelope[Grant] = delivery.envelope(kind)
    return envelope.payload


def grants_consumer(service_name: str) -> Consumer:
    """The service's subscription to the grants topic, in a group of its own: every instance of the
    service shares the one table, so the group's members together take in every partition once."""
    return Consumer(
        ACCESS_GRANTS, group=f"{service_name}-access-grants", batch_handler=on_access_grants, ready_once_read=True
    )
