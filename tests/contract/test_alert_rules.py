"""The alert rules load, do what their unit tests say (`promtool test rules`), and read only metrics the
services expose."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from efrikort.infra.paths import repo_root
from tests.metric_names import exposed_metric_names, metrics_in

RULES = repo_root() / "deploy" / "observability" / "alerts.yml"
RULE_TESTS = repo_root() / "deploy" / "observability" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("EFRIKORT_REQUIRE_PROMTOOL"),
    reason="promtool is not installed (apt-get install prometheus; .ci/run installs it)",
)
"""Skipped without promtool, except where EFRIKORT_REQUIRE_PROMTOOL is set (.ci/run sets it): there the
test fails, so CI never passes without running `promtool test rules`."""


def rules() -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


@needs_promtool
def test_the_rules_are_valid_and_pass_their_unit_tests() -> None:
    assert PROMTOOL is not None, "promtool is missing (apt-get install prometheus)"
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_rule_has_a_unit_test() -> None:
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", ())
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in rules()} <= tested, "a rule nobody has seen fire"


def test_every_metric_a_rule_reads_is_exposed() -> None:
    exposed = exposed_metric_names()
    for rule in rules():
        used = metrics_in(str(rule["expr"]))
        assert used, f"{rule['alert']} reads no e-frikort metric"
        assert used <= exposed, f"{rule['alert']} reads {sorted(used - exposed)}, which no service exposes"


def test_the_rules_cover_what_operators_are_paged_for() -> None:
    read = set().union(*(metrics_in(str(rule["expr"])) for rule in rules()))
    assert {
        "efrikort_consumer_lag",
        "efrikort_dead_letters_total",
        "efrikort_outbox_oldest_age_seconds",
        "efrikort_notices_failed_total",
        "efrikort_http_requests_total",
        "efrikort_consumer_backoff_seconds",
    } <= read
