"""`efrikort seed-ledger` against the session's running stack: a small ledger copied in, then used through the
services as if they had built it themselves: a new fee is assessed against the seeded history, a seeded fee is
read and corrected, and seeding twice is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.clock import today_in_sweden
from efrikort.cli import SAMPLE_DIRECTORY, main
from efrikort.infra.paths import repo_root
from efrikort.infra.stack import InfraEndpoints
from efrikort.seed_generator import SUBMISSION_PREFIX, identity_number
from efrikort.seed_ledger import AlreadySeeded, SeedOptions, SeedSummary, load_actors, seed_ledger
from efrikort.services import ServiceProcess
from protection.regions import RegionSettings
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.e2e.registration_fees import as_caller, post_fee
from tests.kafka_clients import eventually
from tests.submissions import submission

pytestmark = pytest.mark.e2e

PATIENTS, VERSIONS = 2000, 10_000
USER, UNIT = "SE2321000016-E001", "SE2321000016-U001"


@dataclass(frozen=True)
class Seeded:
    summary: SeedSummary
    said: list[str]
    numbers: dict[str, str]
    """Identity number by patient key, of the patients this seeding made."""

    @property
    def submission_range(self) -> tuple[str, str]:
        first = self.summary.first_patient
        return f"{SUBMISSION_PREFIX}{first:09d}", f"{SUBMISSION_PREFIX}{first + PATIENTS:09d}"


def options(infra: InfraEndpoints, **overrides: Any) -> SeedOptions:
    return SeedOptions(
        **{
            "database_url": infra.database_url,
            "patients": PATIENTS,
            "fee_versions": VERSIONS,
            "actors": load_actors(repo_root() / SAMPLE_DIRECTORY, "Region Exempel"),
            "key_secret": DEV_PATIENT_KEY_SECRET,
            "region": RegionSettings.load(),
            "chunk_patients": 300,
            # Appending: a session against a database of its own (DATABASE_URL) may have seeded it before.
            "append": True,
            **overrides,
        }
    )


@pytest.fixture(scope="module")
async def seeded(services: dict[str, ServiceProcess], infra: InfraEndpoints) -> Seeded:
    said: list[str] = []
    summary = await seed_ledger(options(infra), said.append, every=0.0)
    first = summary.first_patient
    numbers = [identity_number(index) for index in range(first, first + PATIENTS)]
    return Seeded(summary, said, {patient_key(n, DEV_PATIENT_KEY_SECRET): n for n in numbers})


@pytest.fixture
async def protection_http(services: dict[str, ServiceProcess]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services["protection"].url, timeout=30) as client:
        yield client


async def test_the_rows_seeded_are_those_asked_for_in_every_table(seeded: Seeded, db: asyncpg.Connection) -> None:
    rows = seeded.summary.rows
    low, high = seeded.submission_range
    keys = list(seeded.numbers)
    assert rows["registration.fee_versions"] == rows["protection.fee_versions"] == VERSIONS
    assert rows["registration.submissions"] == rows["protection.fees"] < VERSIONS
    assert rows["protection.patient_status"] == PATIENTS and 0 < rows["protection.free_cards"] < PATIENTS
    # Where a new fee's recomputation starts, as protection would have stored it: for each patient with a
    # settled part (a period over before their last fee), which many but not all have after a year.
    assert 0 < rows["protection.ledger_checkpoints"] < PATIENTS
    in_range = "WHERE submission_id >= $1 AND submission_id < $2"
    assert await db.fetchval(f"SELECT count(*) FROM registration.fee_versions {in_range}", low, high) == VERSIONS
    assert await db.fetchval(f"SELECT count(*) FROM protection.fees {in_range}", low, high) == rows["protection.fees"]
    for table in (
        "protection.fee_versions",
        "protection.patient_status",
        "protection.free_cards",
        "protection.ledger_checkpoints",
    ):
        count = await db.fetchval(f"SELECT count(*) FROM {table} WHERE patient_key = ANY($1::text[])", keys)
        assert count == rows[table], table
    assert seeded.said and not any(number in line for line in seeded.said for number in seeded.numbers.values())


async def test_a_new_fee_of_a_patient_seeded_past_the_ceiling_costs_nothing_under_the_seeded_card(
    seeded: Seeded, db: asyncpg.Connection, registration_http: httpx.AsyncClient
) -> None:
    key, status = await seeded_patient(seeded, db, "status->>'status' IN ('final', 'preliminary')")
    card = status["free_card"]
    answer = await post_fee(registration_http, new_fee(seeded.numbers[key]))
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert outcome["amount_due"] == 0
    assert outcome["protection"]["free_card"]["number"] == card["number"]
    assert await db.fetchval("SELECT count(*) FROM protection.free_cards WHERE number = $1", card["number"]) == 1


async def test_a_new_fee_of_a_patient_seeded_below_the_ceiling_counts_on_top_of_the_seeded_sum(
    seeded: Seeded, db: asyncpg.Connection, registration_http: httpx.AsyncClient
) -> None:
    key, status = await seeded_patient(
        seeded,
        db,
        "status->>'status' = 'below_limit' AND (status->>'sum')::int >= 300 AND (status->>'remaining')::int > 0",
    )
    answer = await post_fee(registration_http, new_fee(seeded.numbers[key], fee_amount=400))
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert outcome["amount_due"] == min(400, status["remaining"])
    assert outcome["protection"]["sum"] == status["sum"] + outcome["amount_due"]
    assert outcome["protection"]["period_start"] == status["period_start"]


async def test_registration_reads_and_corrects_a_seeded_fee_and_protection_takes_the_correction(
    seeded: Seeded, db: asyncpg.Connection, registration_http: httpx.AsyncClient
) -> None:
    low, high = seeded.submission_range
    fee = await db.fetchrow(
        "SELECT fee_id, fee_amount FROM registration.fee_versions WHERE submission_id >= $1 AND submission_id < $2 "
        "AND care_unit = $3 AND version = 1 AND fee_type = 'doctor_visit' AND fee_id NOT IN "
        "(SELECT fee_id FROM registration.fee_versions WHERE version > 1) LIMIT 1",
        low,
        high,
        UNIT,
    )
    url = f"/v1/fees/{fee['fee_id']}"
    read = await registration_http.get(url, headers=as_caller(USER))
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == '"1"' and read.json()["fee_amount"] == fee["fee_amount"]

    amount = 200 if fee["fee_amount"] != 200 else 250
    corrected = await registration_http.patch(
        url, json={"fee_amount": amount, "reason": "wrong tariff"}, headers={**as_caller(USER), "If-Match": '"1"'}
    )
    assert corrected.status_code == 200, corrected.text
    assert [(v["version"], v["fee_amount"]) for v in corrected.json()["versions"]] == [
        (1, fee["fee_amount"]),
        (2, amount),
    ]

    async def taken_by_protection() -> bool:
        row = await db.fetchrow("SELECT version, fee_amount FROM protection.fees WHERE fee_id = $1", fee["fee_id"])
        return tuple(row) == (2, amount)

    assert await eventually(taken_by_protection, timeout=30)


async def test_a_seeded_patients_status_is_read_from_protection_as_it_was_seeded(
    seeded: Seeded, db: asyncpg.Connection, protection_http: httpx.AsyncClient
) -> None:
    key, status = await seeded_patient(seeded, db, "status->>'status' = 'final'")
    answer = await protection_http.post(
        "/v1/patients/protection", json={"patient_id": seeded.numbers[key]}, headers=as_caller(USER)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["free_card"]["number"] == status["free_card"]["number"]
    assert answer.json()["sum"] == status["sum"]


async def test_seeding_a_seeded_ledger_again_is_refused_unless_appending(
    seeded: Seeded, infra: InfraEndpoints, db: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = await db.fetchval("SELECT count(*) FROM registration.fee_versions")
    with pytest.raises(AlreadySeeded, match="--append"):
        await seed_ledger(options(infra, append=False, patients=10, fee_versions=50), lambda line: None)
    command = ["seed-ledger", "--database-url", infra.database_url, "--patients", "10", "--fee-versions", "50"]
    code = await asyncio.to_thread(main, command)
    assert code == 2 and "--append" in capsys.readouterr().err
    assert await db.fetchval("SELECT count(*) FROM registration.fee_versions") == versions


async def seeded_patient(seeded: Seeded, db: asyncpg.Connection, condition: str) -> tuple[str, dict[str, Any]]:
    """A patient of this seeding whose published status meets `condition`, and that status."""
    row = await db.fetchrow(
        f"SELECT patient_key, status FROM protection.patient_status WHERE patient_key = ANY($1::text[]) "
        f"AND {condition} ORDER BY patient_key LIMIT 1",
        list(seeded.numbers),
    )
    assert row is not None, f"no seeded patient with {condition}"
    return row["patient_key"], json.loads(row["status"])


def new_fee(patient_id: str, fee_amount: int = 300) -> dict[str, Any]:
    """A doctor's visit today, charged what is due (no paid amount), by the sample directory's user."""
    fee = submission(patient_id=patient_id, visit_date=today_in_sweden().isoformat(), fee_amount=fee_amount)
    del fee["paid_amount"]
    return fee
