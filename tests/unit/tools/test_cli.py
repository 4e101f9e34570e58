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
