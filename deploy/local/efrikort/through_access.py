"""Actors of the tools and the tests, given their rights the one way anyone's are: a directory export
(`efrikort-directory/1`, `access.directory`) imported into access, which computes the grants and
publishes them on the grants topic. Nothing here writes that topic: only access's principal may.

The exports made here are partial (`"full": false`): they add and change, and end nothing they lack,
so a tool's actors sit beside the sample directory's (and everyone else's) without changing them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from access.directory import (
    AgreementEntry,
    CommissionEntry,
    DirectoryExport,
    EmployeeEntry,
    ProviderEntry,
    RoleEntry,
    SystemEntry,
    UnitEntry,
)
from access.importer import access_transaction
from access.mirror import ImportSummary, apply_directory_change, import_export
from access.settings import AccessSettings
from access.system_topics import system_acls
from contracts.access_events import AccessRole, CareUnitChanged, employee_key, system_key, unit_key
from runtime.kafka_admin import describe_acls, user

CARE_PURPOSE = "Vård och behandling"
"""A commission with this purpose lets its holder act for the unit (with an e-frikort role)."""
LONG_AGO = date(2020, 1, 1)
"""When the actors' commissions and agreements began: before any visit date the tools send."""


@dataclass
class PartialExport:
    """A directory export built in code: providers with or without an agreement, their units, employees
    with a commission and a role there (or lacking one of them), integrated systems; and units that
    have closed since, which an export cannot say without ending everything else it lacks, so they
    are told to access afterwards as the HSA feed tells it (`CareUnitChanged`, removed)."""

    region: str
    """The region of every unit and the one the systems are approved for, unless said otherwise."""
    providers: dict[str, ProviderEntry] = field(default_factory=dict)
    agreements: list[AgreementEntry] = field(default_factory=list)
    units: dict[str, UnitEntry] = field(default_factory=dict)
    closed: list[CareUnitChanged] = field(default_factory=list)
    employees: dict[str, EmployeeEntry] = field(default_factory=dict)
    commissions: list[CommissionEntry] = field(default_factory=list)
    roles: list[RoleEntry] = field(default_factory=list)
    systems: list[SystemEntry] = field(default_factory=list)

    def provider(self, hsa_id: str, *, agreement: bool = True, region: str | None = None) -> str:
        self.providers[hsa_id] = ProviderEntry(hsa_id=hsa_id, name=hsa_id)
        if agreement:
            self.agreements.append(
                AgreementEntry(care_provider=hsa_id, region=region or self.region, signed_on=LONG_AGO)
            )
        return hsa_id

    def unit(self, hsa_id: str, provider: str, *, region: str | None = None, closed: bool = False) -> str:
        """A unit of `provider` (which must have been added); `closed`: it has left the directory since."""
        entry = UnitEntry(hsa_id=hsa_id, name=hsa_id, care_provider=provider, region=region or self.region)
        self.units[hsa_id] = entry
        if closed:
            self.closed.append(
                CareUnitChanged(care_unit=hsa_id, care_provider=provider, region=entry.region, removed=True)
            )
        return hsa_id

    def employee(
        self,
        hsa_id: str,
        care_unit: str,
        *,
        role: AccessRole | None = AccessRole.USER,
        commission: bool = True,
        commission_ended_on: date | None = None,
    ) -> str:
        """An employee at `care_unit`: a commission there (unless not `commission`; ended on
        `commission_ended_on` when given) and `role` there (unless None)."""
        self.employees[hsa_id] = EmployeeEntry(hsa_id=hsa_id, name=hsa_id)
        if commission:
            self.commissions.append(
                CommissionEntry(
                    commission_id=f"{hsa_id}-C-{care_unit}",
                    employee=hsa_id,
                    care_unit=care_unit,
                    purpose=CARE_PURPOSE,
                    valid_from=LONG_AGO,
                    valid_to=commission_ended_on,
                )
            )
        if role is not None:
            self.roles.append(RoleEntry(employee=hsa_id, care_unit=care_unit, role=role))
        return hsa_id

    def system(self, hsa_id: str, *, certified: bool = True, suspended: bool = False) -> str:
        self.systems.append(
            SystemEntry(
                hsa_id=hsa_id, name=hsa_id, certified=certified, suspended=suspended, approved_regions=[self.region]
            )
        )
        return hsa_id

    def export(self) -> DirectoryExport:
        return DirectoryExport(
            format="efrikort-directory/1",
            full=False,
            care_providers=list(self.providers.values()),
            care_units=list(self.units.values()),
            employees=list(self.employees.values()),
            commissions=self.commissions,
            access_roles=self.roles,
            agreements=self.agreements,
            integrated_systems=self.systems,
        )


def grant_keys(export: DirectoryExport) -> list[str]:
    """The keys of the grants access gives for what the export holds."""
    pairs = {(c.employee, c.care_unit) for c in export.commissions}
    pairs |= {(r.employee, r.care_unit) for r in export.access_roles}
    return sorted(
        [unit_key(u.hsa_id) for u in export.care_units]
        + [employee_key(employee, care_unit) for employee, care_unit in pairs]
        + [system_key(s.hsa_id) for s in export.integrated_systems]
    )


async def import_through_access(
    export: DirectoryExport, settings: AccessSettings | None = None, *, closed: Sequence[CareUnitChanged] = ()
) -> ImportSummary:
    """Import into access's mirror (access's settings from the environment unless given), then tell it
    of the units `closed` since; access computes the grants in the same transaction, and the running
    access service publishes them."""
    async with access_transaction(settings) as tx:
        summary = await import_export(tx, export)
        for change in closed:
            await apply_directory_change(tx, change)
        return summary


async def import_actors(actors: PartialExport, settings: AccessSettings | None = None) -> ImportSummary:
    return await import_through_access(actors.export(), settings, closed=actors.closed)


async def until_held(
    database_url: str, keys: Sequence[str], *, access_schema: str, readers: Sequence[str], timeout: float = 60
) -> None:
    """Wait until each of `readers` (a deciding service's schema) holds the grants under `keys` as
    access last computed them (access publishes asynchronously, through its outbox), so that what is
    sent next is decided with them. `database_url` may read every schema (the server's owner)."""
    conn = await asyncpg.connect(database_url)
    try:
        computed = {
            row["key"]: json.loads(row["content"])
            for row in await conn.fetch(
                f'SELECT key, CAST(content AS text) AS content FROM "{access_schema}".published_grants '
                "WHERE key = ANY($1)",
                list(keys),
            )
        }
        if missing := sorted(set(keys) - computed.keys()):
            raise RuntimeError(f"access computed no grant for {missing[:5]}")
        for schema in readers:
            deadline = time.monotonic() + timeout
            while differ := await _differing(conn, schema, computed):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{schema} did not take in the grants of {differ[:5]} within {timeout:.0f}s")
                await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def _differing(conn: asyncpg.Connection, schema: str, computed: dict[str, dict[str, object]]) -> list[str]:
    """The keys whose grant in the reader's table is not (yet) what access computed."""
    rows = await conn.fetch(
        f'SELECT key, CAST("grant" AS text) AS grant FROM "{schema}".access_grants WHERE key = ANY($1)', list(computed)
    )
    # What a grant says, without when it was computed: access compares grants the same way.
    held = {row["key"]: {k: v for k, v in json.loads(row["grant"]).items() if k != "changed_at"} for row in rows}
    return sorted(key for key, content in computed.items() if held.get(key) != content)


async def until_opened(
    bootstrap: str, client_options: dict[str, object], system_ids: Sequence[str], timeout: float = 60
) -> None:
    """Wait until access has opened each approved system's topics (its keeper does, within
    `EFRIKORT_ACCESS_SYSTEM_TOPICS_INTERVAL_S`): the system's own rights are the last it gives."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    await admin.start()
    try:
        for system_id in system_ids:
            deadline = time.monotonic() + timeout
            while not system_acls(system_id) <= await describe_acls(admin, user(system_id)):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"access did not open the topics of {system_id} within {timeout:.0f}s")
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
