"""The `efrikort` command line: what it passes on, and what it refuses."""

from __future__ import annotations

import pytest

from efrikort.cli import parse


def test_everything_after_test_goes_to_pytest_options_included() -> None:
    assert parse(["test", "-q", "tests/unit", "-k", "ledger"]).pytest_args == ["-q", "tests/unit", "-k", "ledger"]


def test_test_alone_runs_every_test() -> None:
    assert parse(["test"]).pytest_args == []


def test_an_option_another_command_does_not_know_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse(["topology", "--nonsense"])


def test_seed_ledger_seeds_a_large_regions_year_into_the_local_stack_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EFRIKORT_PATIENT_KEY_SECRET", raising=False)
    args = parse(["seed-ledger"])
    assert (args.patients, args.fee_versions, args.append) == (2_000_000, 10_000_000, False)
    assert args.database_url == "postgresql://postgres@127.0.0.1:55432/efrikort"
    assert args.patient_key_secret == "local-development-only-patient-key-secret"
    assert parse(["seed-ledger", "--append", "--patients", "20"]).append is True


def test_heavy_adds_the_heavy_tier_and_is_not_passed_to_pytest() -> None:
    args = parse(["test", "--heavy", "-m", "heavy", "-q"])
    assert args.heavy is True
    assert args.pytest_args == ["-m", "heavy", "-q"]


def test_without_heavy_the_heavy_tier_stays_skipped() -> None:
    assert parse(["test", "tests/e2e"]).heavy is False
