"""The generator behind `efrikort seed-ledger`: valid identity numbers, exact counts, a realistic skew, and rows
the services themselves would have written (fingerprints, fee events, protection's ledger)."""

from __future__ import annotations

import json
import random
import statistics
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts.events import FeeCorrected, FeeRegistered
from contracts.identity import IdentityNumber
from contracts.integration import FeeSubmission
from efrikort.bench import synthetic_patients
from efrikort.cli import SAMPLE_DIRECTORY
from efrikort.infra.paths import repo_root
from efrikort.seed_generator import (
    LOWEST_SEEDED_SERIAL,
    MAX_PATIENTS,
    PatientYear,
    SeedActors,
    Year,
    card_number,
    correction_counts,
    event_json,
    fee_counts,
    fees_and_corrections,
    fingerprint,
    identity_number,
    patients,
    protection_state,
)
from efrikort.seed_ledger import LEDGER_CHECKPOINTS
from protection.ledger import Checkpoint, Fee, FreeCard, ReplayPosition, replay
from protection.regions import RegionSettings
from protection.store import checkpoint_row
from registration.submission_rules import Accepted
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET

ACTORS = SeedActors.from_directory(
    json.loads((repo_root() / SAMPLE_DIRECTORY).read_text(encoding="utf-8")), "Region Exempel"
)
YEAR = Year(
    date(2026, 12, 1),
    datetime(2026, 12, 1, 12, tzinfo=UTC),
    ACTORS,
    DEV_PATIENT_KEY_SECRET,
    RegionSettings.load(),
)


def seeded(patient_count: int, versions: int, seed: int = 7) -> list[PatientYear]:
    rng = random.Random(seed)
    fees, corrections = fees_and_corrections(versions)
    counts = fee_counts(patient_count, fees, rng)
    return list(patients(0, counts, correction_counts(counts, corrections, rng), YEAR, rng))


def test_identity_numbers_are_valid_distinct_and_the_same_for_an_index_every_time() -> None:
    indexes = [*range(3000), MAX_PATIENTS - 1, 12_345_678]
    numbers = [identity_number(i) for i in indexes]
    assert len(set(numbers)) == len(numbers)
    parsed = [IdentityNumber.parse(n) for n in numbers]
    assert all(not p.coordination and date(1930, 1, 1) <= p.birth_date <= date(2024, 12, 31) for p in parsed)
    # Synthetic by construction: serial numbers counted down from 999.
    assert all(n[8:11] >= "960" for n in numbers[:3000])
    assert identity_number(42) == numbers[42]
    with pytest.raises(ValueError, match="patient index"):
        identity_number(MAX_PATIENTS)


def test_fee_counts_sum_exactly_with_most_patients_few_fees_and_some_hundreds() -> None:
    counts = fee_counts(20_000, 96_000, random.Random(1))
    assert sum(counts) == 96_000 and min(counts) >= 1
    assert statistics.median(counts) <= 3
    assert max(counts) >= 100
    assert sum(1 for c in counts if c >= 50) < len(counts) / 50


def test_versions_are_the_fees_asked_for_plus_their_corrections() -> None:
    fees, corrections = fees_and_corrections(10_000_000)
    assert fees + corrections == 10_000_000 and 0 < corrections < fees / 10
    years = seeded(500, 2500)
    assert sum(len(versions) for year in years for versions in year.fees) == 2500
    assert sum(len(year.fees) for year in years) == fees_and_corrections(2500)[0]
    corrected = [versions for year in years for versions in year.fees if len(versions) > 1]
    assert corrected and all(v[-1].fee_amount != v[-2].fee_amount for v in corrected)
    assert all([v.version for v in versions] == list(range(1, len(versions) + 1)) for versions in corrected)


def test_every_fee_is_of_the_last_twelve_months_at_a_unit_of_the_region_by_its_user() -> None:
    for year in seeded(300, 1500):
        assert year.patient_key == patient_key(year.identity_number, DEV_PATIENT_KEY_SECRET)
        for version in (v for versions in year.fees for v in versions):
            assert date(2025, 12, 1) <= version.visit_date < date(2026, 12, 1)
            assert version.registered_by in ACTORS.users_by_unit[version.care_unit]
            assert version.registered_at <= YEAR.now and version.system_id == "SE2321000016-SYS1"


def test_a_seeded_fee_has_the_time_ordered_id_registration_would_have_given_it_when_it_was_registered() -> None:
    firsts = [versions[0] for year in seeded(300, 1500) for versions in year.fees]
    assert all(v.fee_id.version == 7 for v in firsts)
    assert all(v.fee_id.int >> 80 == int(v.registered_at.timestamp() * 1000) for v in firsts)


def test_the_fingerprint_is_the_one_registration_takes_of_the_submission() -> None:
    for year in seeded(50, 300):
        for versions in year.fees:
            first = versions[0]
            submission = FeeSubmission(
                submission_id=first.submission_id,
                system_id=first.system_id,
                patient_id=year.identity_number,
                visit_date=first.visit_date.isoformat(),
                care_unit=first.care_unit,
                registered_by=first.registered_by,
                fee_type=first.fee_type,
                fee_amount=first.fee_amount,
                paid_amount=first.paid_amount,
                source=first.source,
            )
            expected = Accepted(submission, IdentityNumber.parse(year.identity_number)).fingerprint
            assert fingerprint(first, year.identity_number) == expected


def test_each_version_is_stored_as_the_contract_event_registration_publishes() -> None:
    for year in seeded(100, 2000):
        for version in (v for versions in year.fees for v in versions):
            model = FeeRegistered if version.version == 1 else FeeCorrected
            written = model.model_validate_json(event_json(version))
            assert written == version.event(on_system_topic=True)
            assert json.loads(event_json(version)) == json.loads(written.model_dump_json())


def test_protection_state_is_protections_own_ledger_of_the_fees() -> None:
    years = seeded(2000, 20_000)
    with_cards = 0
    for year in years:
        state = protection_state(year, YEAR)
        fees = [
            Fee(v.fee_id, v.visit_date, v.registered_at, v.fee_type, v.fee_amount, v.birth_date, v.care_unit)
            for v in year.latest
        ]
        ledger = replay(fees, YEAR.region)
        assert state.charged == {fee_id: a.amount_due for fee_id, a in ledger.assessments.items()}
        dates = [(c.valid_from, c.valid_to) for c in ledger.free_cards]
        assert [(c.valid_from, c.valid_to) for c in state.cards] == dates
        assert state.status["patient_key"] == year.patient_key
        with_cards += bool(state.cards)
    # Those with many fees pass the ceiling: some, not most.
    assert 0 < with_cards < len(years) / 2


def test_free_card_numbers_are_unique_per_patient_and_card() -> None:
    numbers = {card_number(i, n) for i in range(5000) for n in range(3)}
    assert len(numbers) == 15_000 and all(len(n) == 15 and n.startswith("FK-") for n in numbers)


def test_the_actors_are_the_directorys_units_of_the_region_with_an_agreement_and_their_users() -> None:
    assert ACTORS.system_id == "SE2321000016-SYS1"
    assert "SE2321000016-U001" in ACTORS.units and "SE2321000016-U004" not in ACTORS.units  # no agreement
    assert "SE2321000016-U005" not in ACTORS.units  # another region
    with pytest.raises(ValueError, match="Region Ingen"):
        SeedActors.from_directory(json.loads(Path(repo_root() / SAMPLE_DIRECTORY).read_text()), "Region Ingen")


def test_the_bench_can_draw_its_patients_from_those_seed_ledger_wrote() -> None:
    drawn = synthetic_patients(50, seed=7, seeded=1000)
    assert len(set(drawn)) == 50
    assert set(drawn) <= {identity_number(index) for index in range(1000)}
    assert not set(synthetic_patients(50, seed=7)) & {identity_number(index) for index in range(1000)}


def test_a_new_patient_of_the_bench_is_none_that_seed_ledger_writes_for_a_large_region() -> None:
    large_region = 2_000_000
    # Serial numbers count down with the index: the last patient of a large region has the lowest.
    assert int(identity_number(large_region - 1)[8:11]) >= LOWEST_SEEDED_SERIAL
    assert all(int(number[8:11]) < LOWEST_SEEDED_SERIAL for number in synthetic_patients(2000, seed=3))


def test_seed_ledger_copies_a_checkpoint_as_protection_stores_it_column_by_column() -> None:
    settled = ReplayPosition(date(2026, 3, 1), datetime(2026, 3, 1, 9, tzinfo=UTC), uuid.UUID(int=7))
    card = FreeCard(date(2025, 6, 1), date(2026, 2, 10), date(2026, 5, 31), 1450)
    for checkpoint in (Checkpoint(settled, None), Checkpoint(settled, card)):
        assert tuple(checkpoint_row("key", checkpoint)) == LEDGER_CHECKPOINTS.columns
