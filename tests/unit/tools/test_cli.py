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


def test_heavy_adds_the_heavy_tier_and_is_not_passed_to_pytest() -> None:
    args = parse(["test", "--heavy", "-m", "heavy", "-q"])
    assert args.heavy is True
    assert args.pytest_args == ["-m", "heavy", "-q"]


def test_without_heavy_the_heavy_tier_stays_skipped() -> None:
    assert parse(["test", "tests/e2e"]).heavy is False
