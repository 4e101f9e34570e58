"""`efrikort chaos` at a size CI affords: an e-frikort of its own (Kafka, PostgreSQL, the four services)
loaded as an integrated system sends, while services are SIGKILLed and Kafka and PostgreSQL restarted, or
while each service is restarted in turn; then nothing is lost, doubled or miscounted."""

from __future__ import annotations

from pathlib import Path

import pytest

from efrikort.chaos.run import ChaosOptions, ChaosReport, report_lines, run_chaos
from efrikort.services import SERVICE_PORTS

# A stack of its own is started, broken and checked: on the busy 2-core machine that outlasts the usual 300 s.
# Nine minutes together under load: the heavy tier (`./efrikort test --heavy`; README, Tests).
pytestmark = [pytest.mark.e2e, pytest.mark.heavy, pytest.mark.timeout(900)]


def run(options: ChaosOptions) -> ChaosReport:
    report = run_chaos(options, print)
    print("\n".join(report_lines(report)))
    return report


def assert_nothing_lost_doubled_or_miscounted(report: ChaosReport) -> None:
    found = report.verdict
    assert report.settled, "the stack did not settle (an outbox or a consumer group never caught up)"
    assert found.outcomes_missing == 0
    assert found.outcomes_duplicated == 0
    assert found.wrong_outcomes == 0
    assert found.fees_registered_twice == 0
    assert found.patients_checked > 0
    assert found.ledger_differences == 0
    assert found.notices > 0
    assert found.notice_differences == 0
    assert found.change_differences == 0
    assert found.dead_letters == {}
    assert found.differences == []


def test_kills_and_server_restarts_under_load_lose_double_and_miscount_nothing(server_dir: Path) -> None:
    report = run(
        ChaosOptions(root=server_dir, submissions=300, rate=20, kill_every=4, seed=16, min_kills=4, settle_timeout=240)
    )

    assert report.kills() >= 4
    assert {"broker restart", "postgres restart"} <= {d.what for d in report.disturbances}
    assert report.corrections_and_deletions > 0 and report.meant_to_be_refused > 0
    assert_nothing_lost_doubled_or_miscounted(report)


def test_restarting_each_service_in_turn_under_load_loses_and_doubles_nothing(server_dir: Path) -> None:
    report = run(ChaosOptions(root=server_dir, submissions=400, rate=4, seed=5, rolling=True, settle_timeout=240))

    assert sorted(d.target for d in report.disturbances if d.what == "restart") == sorted(SERVICE_PORTS)
    assert_nothing_lost_doubled_or_miscounted(report)
    assert report.verdict.longest_pause_s > 0  # reported: how long outcomes paused at worst
