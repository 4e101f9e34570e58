"""The Grafana dashboard is valid JSON, every panel's PromQL parses, and it reads only metrics the services
expose: a renamed metric fails here, not on an empty graph in production."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from efrikort.infra.paths import repo_root
from tests.contract.test_alert_rules import PROMTOOL, needs_promtool
from tests.metric_names import exposed_metric_names, metrics_in

DASHBOARD = repo_root() / "deploy" / "observability" / "grafana" / "efrikort.json"


def panels() -> list[dict[str, Any]]:
    return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["type"] != "row"]


def expressions() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in panels() for target in panel["targets"]]


def test_the_dashboard_is_json_with_unique_panel_ids_and_a_prometheus_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"]
    assert [v["name"] for v in dashboard["templating"]["list"] if v["type"] == "datasource"] == ["datasource"]
    for panel in panels():
        assert panel["targets"], f"{panel['title']} has no query"
        assert panel["datasource"]["uid"] == "${datasource}"


def test_every_expression_reads_metrics_the_services_expose() -> None:
    exposed = exposed_metric_names()
    for title, expr in expressions():
        used = metrics_in(expr)
        assert used, f"{title}: {expr} reads no e-frikort metric"
        assert used <= exposed, f"{title} reads {sorted(used - exposed)}, which no service exposes"


def test_the_dashboard_shows_what_operators_watch() -> None:
    read = set().union(*(metrics_in(expr) for _, expr in expressions()))
    assert {
        "efrikort_messages_consumed_total",
        "efrikort_message_handling_seconds_bucket",
        "efrikort_consumer_lag",
        "efrikort_outbox_backlog",
        "efrikort_outbox_oldest_age_seconds",
        "efrikort_dead_letters_total",
        "efrikort_notices_failed_total",
        "efrikort_http_requests_total",
        "efrikort_http_request_seconds_bucket",
    } <= read


@needs_promtool
def test_every_expression_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses rule files: each expression as a recording rule, Grafana's interval as a fixed one.
    rules = [
        {"record": f"dashboard:panel_{i}", "expr": expr.replace("$__rate_interval", "1m")}
        for i, (_, expr) in enumerate(expressions())
    ]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert PROMTOOL is not None, "promtool is missing (apt-get install prometheus)"
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(tmp_path / "dashboard.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
