"""`efrikort seed-ledger`: a large region's year of fees written straight into registration's and protection's
own tables with PostgreSQL COPY, not through the pipeline (issue 17: latency and throughput with a full
ledger against an empty one).

Patients are generated a chunk at a time (in a thread) while the chunk before is copied, one connection
per table, so no more than a chunk's rows are ever held. The services' indexes stay in place; every table
written is analysed at the end. Registration's outcomes are not seeded: a re-send of a seeded submission is
passed on again, as one whose outcome never came.

Each chunk is committed table by table: a seed cut short (Ctrl-C, a crash) leaves its last chunk in some
tables only. Seed again on an empty ledger (`./efrikort infra reset`), not with `--append`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import operator
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg

from contracts.clock import now, today_in_sweden
from contracts.fee_events import FeeCorrected, FeeRegistered
from efrikort.seed_generator import (
    SUBMISSION_PREFIX,
    PatientYear,
    SeedActors,
    Year,
    correction_counts,
    event_json,
    fee_counts,
    fees_and_corrections,
    fingerprint,
    patients,
    protection_state,
    sender,
)
from protection.app import NAME as PROTECTION
from protection.regions import RegionSettings
from protection.store import checkpoint_row
from registration.app import NAME as REGISTRATION
from registration.fee_versions import Change, FeeVersion


class Table(NamedTuple):
    schema: str
    name: str
    columns: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


SUBMISSIONS = Table(
    REGISTRATION, "submissions", ("sender", "submission_id", "fingerprint", "fee_id", "patient_key", "received_at")
)
REGISTRATION_VERSIONS = Table(REGISTRATION, "fee_versions", tuple(f.name for f in dataclasses.fields(FeeVersion)))
_registration_version = operator.attrgetter(*REGISTRATION_VERSIONS.columns)
"""A version's row (`FeeVersion.as_row`'s values, without a dictionary made per row: the enums are strings)."""
FEES = Table(
    PROTECTION,
    "fees",
    (
        "fee_id",
        "version",
        "patient_key",
        "submission_id",
        "care_unit",
        "birth_date",
        "visit_date",
        "registered_at",
        "fee_type",
        "fee_amount",
        "paid_amount",
        "deleted",
        "charged_amount",
        "source",
        "receipt_issuer",
    ),
)
PROTECTION_VERSIONS = Table(
    PROTECTION, "fee_versions", ("fee_id", "version", "patient_key", "event_type", "event", "received_at")
)
FREE_CARDS = Table(
    PROTECTION,
    "free_cards",
    ("number", "patient_key", "period_start", "valid_from", "valid_to", "ceiling", "issued_at", "revoked_at"),
)
PATIENT_STATUS = Table(PROTECTION, "patient_status", ("patient_key", "status", "changed_at"))
LEDGER_CHECKPOINTS = Table(
    PROTECTION,
    "ledger_checkpoints",
    (
        "patient_key",
        "visit_date",
        "registered_at",
        "fee_id",
        "card_period_start",
        "card_valid_from",
        "card_valid_to",
        "card_ceiling",
    ),
)
TABLES = (
    SUBMISSIONS,
    REGISTRATION_VERSIONS,
    FEES,
    PROTECTION_VERSIONS,
    FREE_CARDS,
    PATIENT_STATUS,
    LEDGER_CHECKPOINTS,
)

Rows = dict[Table, list[tuple[Any, ...]]]
"""A chunk of patients' rows, per table, in the table's column order."""


class AlreadySeeded(RuntimeError):
    """The database holds seeded fees, and appending was not asked for."""


@dataclass(frozen=True)
class SeedOptions:
    database_url: str
    patients: int
    fee_versions: int
    actors: SeedActors
    key_secret: str
    region: RegionSettings
    seed: int = 1
    append: bool = False
    chunk_patients: int = 2000


@dataclass
class SeedSummary:
    rows: dict[str, int] = field(default_factory=lambda: {table.qualified: 0 for table in TABLES})
    first_patient: int = 0
    seconds: float = 0.0
    database_bytes: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_json(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "first_patient_index": self.first_patient,
            "seconds": round(self.seconds, 1),
            "rows_per_second": round(self.total_rows / self.seconds) if self.seconds else None,
            "database_bytes": self.database_bytes,
        }

    def lines(self) -> list[str]:
        width = max(len(name) for name in self.rows)
        return [
            *(f"  {name:<{width}} {count:>12,}" for name, count in self.rows.items()),
            f"  {'total':<{width}} {self.total_rows:>12,} rows in {self.seconds:.1f}s "
            f"({self.total_rows / max(self.seconds, 1e-9):,.0f} rows/s); "
            f"database {self.database_bytes / 2**30:.2f} GiB",
        ]


def chunk_rows(chunk: Sequence[PatientYear], year: Year) -> Rows:
    """Every table's rows of a chunk of patients."""
    rows: Rows = {table: [] for table in TABLES}
    for patient in chunk:
        state = protection_state(patient, year)
        for versions in patient.fees:
            first, latest = versions[0], versions[-1]
            submission_fingerprint = fingerprint(first, patient.identity_number)
            key, at = patient.patient_key, first.registered_at
            rows[SUBMISSIONS].append(
                (sender(first), first.submission_id, submission_fingerprint, first.fee_id, key, at)
            )
            rows[REGISTRATION_VERSIONS].extend(map(_registration_version, versions))
            rows[PROTECTION_VERSIONS].extend(_protection_version(v) for v in versions)
            rows[FEES].append(_protection_fee(latest, state.charged[latest.fee_id]))
        rows[FREE_CARDS].extend(
            (c.number, patient.patient_key, c.period_start, c.valid_from, c.valid_to, c.ceiling, c.issued_at, None)
            for c in state.cards
        )
        rows[PATIENT_STATUS].append((patient.patient_key, json.dumps(state.status, sort_keys=True), year.now))
        if state.checkpoint is not None:
            rows[LEDGER_CHECKPOINTS].append(tuple(checkpoint_row(patient.patient_key, state.checkpoint).values()))
    return rows


_EVENT_TYPES = {Change.REGISTERED: FeeRegistered.event_type, Change.CORRECTED: FeeCorrected.event_type}


def _protection_version(version: FeeVersion) -> tuple[Any, ...]:
    received = version.changed_at or version.registered_at
    event_type = _EVENT_TYPES[version.change]
    return (version.fee_id, version.version, version.patient_key, event_type, event_json(version), received)


def _protection_fee(v: FeeVersion, charged: int) -> tuple[Any, ...]:
    return (*(getattr(v, column) for column in FEES.columns[:11]), False, charged, v.source.value, None)


async def next_patient_index(conn: asyncpg.Connection, append: bool) -> int:
    """0 on a ledger never seeded; after the last seeded patient when appending; else `AlreadySeeded`."""
    missing = [t.qualified for t in TABLES if await conn.fetchval("SELECT to_regclass($1)", t.qualified) is None]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} missing: bring the stack up first (./efrikort up), "
            "so that the services create their tables"
        )
    last = await conn.fetchval(
        f"SELECT max(submission_id) FROM {SUBMISSIONS.qualified} WHERE submission_id >= $1 AND submission_id < $2",
        SUBMISSION_PREFIX,
        SUBMISSION_PREFIX[:-1] + chr(ord(SUBMISSION_PREFIX[-1]) + 1),
    )
    if last is None:
        return 0
    if not append:
        raise AlreadySeeded(
            "this database already holds seeded fees: seeding again would give the same patients a second year. "
            "Pass --append to seed further patients after them, or ./efrikort infra reset for an empty ledger"
        )
    return int(last[len(SUBMISSION_PREFIX) :].split("-")[0]) + 1


class Progress:
    """Rows per second on stderr, every `every` seconds."""

    def __init__(self, summary: SeedSummary, expected_versions: int, say: Callable[[str], None], every: float) -> None:
        self.summary, self.expected, self.say, self.every = summary, expected_versions, say, every
        self.started = self.last = time.monotonic()

    def add(self, rows: Rows) -> None:
        for table, table_rows in rows.items():
            self.summary.rows[table.qualified] += len(table_rows)
        if (moment := time.monotonic()) - self.last >= self.every:
            self.last = moment
            done = self.summary.rows[REGISTRATION_VERSIONS.qualified]
            self.say(
                f"{done:,}/{self.expected:,} fee versions ({100 * done / self.expected:.0f} %), "
                f"{self.summary.total_rows:,} rows, {self.summary.total_rows / (moment - self.started):,.0f} rows/s"
            )


async def seed_ledger(options: SeedOptions, say: Callable[[str], None], every: float = 5.0) -> SeedSummary:
    """Generate and COPY the whole ledger, then ANALYZE what was written."""
    started = time.monotonic()
    connections = [await asyncpg.connect(options.database_url) for _ in TABLES]
    try:
        summary = SeedSummary(first_patient=await next_patient_index(connections[0], options.append))
        for conn in connections:
            # A seed cut short is redone on an empty ledger anyway: no chunk needs to wait for the disk.
            await conn.execute("SET synchronous_commit = off")
        await _copy_chunks(
            options,
            summary,
            dict(zip(TABLES, connections, strict=True)),
            Progress(summary, options.fee_versions, say, every),
        )
        say("analysing the seeded tables ...")
        await asyncio.gather(
            *(conn.execute(f"ANALYZE {t.qualified}") for t, conn in zip(TABLES, connections, strict=True))
        )
        summary.database_bytes = await connections[0].fetchval("SELECT pg_database_size(current_database())")
    finally:
        for conn in connections:
            await conn.close()
    summary.seconds = time.monotonic() - started
    return summary


async def _copy_chunks(
    options: SeedOptions, summary: SeedSummary, connections: dict[Table, asyncpg.Connection], progress: Progress
) -> None:
    """Generate chunk k+1 in a thread while chunk k is copied."""
    rng = random.Random(options.seed * 1_000_003 + summary.first_patient)
    fees, corrections = fees_and_corrections(options.fee_versions)
    counts = fee_counts(options.patients, fees, rng)
    year = Year(today_in_sweden(), now(), options.actors, options.key_secret, options.region)
    generated = patients(summary.first_patient, counts, correction_counts(counts, corrections, rng), year, rng)

    def next_chunk() -> Rows | None:
        chunk = [patient for _, patient in zip(range(options.chunk_patients), generated, strict=False)]
        return chunk_rows(chunk, year) if chunk else None

    copying: asyncio.Future[Any] | None = None
    while (rows := await asyncio.to_thread(next_chunk)) is not None:
        if copying is not None:
            await copying
        copying = asyncio.gather(*(_copy(connections[table], table, table_rows) for table, table_rows in rows.items()))
        progress.add(rows)
    if copying is not None:
        await copying


async def _copy(conn: asyncpg.Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(table.name, schema_name=table.schema, columns=table.columns, records=rows)


def load_actors(directory: Path, region: str) -> SeedActors:
    return SeedActors.from_directory(json.loads(directory.read_text(encoding="utf-8")), region)


def run(options: SeedOptions, as_json: bool) -> int:
    """The command: progress on stderr, the summary on stdout (JSON with `as_json`)."""

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    say(
        f"seeding {options.patients:,} patients with {options.fee_versions:,} fee versions "
        f"(registered through {options.actors.system_id} at {len(options.actors.units)} units) ..."
    )
    try:
        summary = asyncio.run(seed_ledger(options, say))
    except AlreadySeeded as refusal:
        say(f"refused: {refusal}")
        return 2
    if as_json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        print(f"seeded patients {summary.first_patient:,} to {summary.first_patient + options.patients - 1:,}:")
        print("\n".join(summary.lines()))
    return 0
