"""`efrikort up --observe` runs Prometheus beside the stack: every service scraped, the alert rules loaded,
its URL printed, and Ctrl-C stops it with the rest."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from efrikort.services import SERVICE_PORTS
from tests.e2e.private_stack import private_stack

pytestmark = [
    pytest.mark.e2e,
    # A whole stack and Prometheus of its own, minutes on a busy machine: the heavy tier (README, Tests).
    # The scrape configuration itself is checked by promtool in tests/unit/tools/test_observe.py.
    pytest.mark.heavy,
    # The test waits up to 480 s for the stack on a busy machine: pytest's default 300 s must not cut it first.
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="prometheus is not installed (apt-get install prometheus; .ci/run installs it)",
    ),
]


def api(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]


def scraped_jobs(prometheus: str, timeout: float = 60) -> dict[str, str]:
    """Each job's target health, once every target has been scraped at least once (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        targets = api(f"{prometheus}/api/v1/targets")["activeTargets"]
        health = {target["labels"]["job"]: target["health"] for target in targets}
        if (health and "unknown" not in health.values()) or time.monotonic() > deadline:
            return health
        time.sleep(1)


def test_efrikort_up_observe_runs_prometheus_scraping_every_service_with_the_alert_rules(server_dir: Path) -> None:
    # The desk is scraped too.
    stack = private_stack(server_dir, spare=1)
    env, base, [prometheus_port] = stack.env, stack.base, stack.spare_ports
    command = ["up", "--observe", "--prometheus-port", str(prometheus_port), "--http-port-base", str(base)]
    cli = subprocess.Popen(
        [sys.executable, "-m", "efrikort.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    prometheus_pid = None
    try:
        deadline = time.monotonic() + 480  # a busy machine takes minutes to start Kafka and four services
        assert cli.stdout is not None
        for line in cli.stdout:
            output.append(line)
            if line.strip().startswith("Prometheus"):
                break
            assert time.monotonic() < deadline, "".join(output)
        else:
            pytest.fail("efrikort up --observe ended without printing Prometheus:\n" + "".join(output))
        prometheus = f"http://127.0.0.1:{prometheus_port}"
        assert f"{prometheus}/targets" in output[-1], "".join(output)
        prometheus_pid = next(
            p.pid for p in psutil.Process(cli.pid).children(recursive=True) if p.name() == "prometheus"
        )

        health = scraped_jobs(prometheus)
        # Every service up starts is a job (the desk too, where it runs), and every one is up.
        assert set(SERVICE_PORTS) <= set(health) and set(health.values()) == {"up"}, health
        loaded = {rule["name"] for group in api(f"{prometheus}/api/v1/rules")["groups"] for rule in group["rules"]}
        assert {"EfrikortConsumerLagging", "EfrikortOutboxStuck", "EfrikortHttpErrors"} <= loaded
        # What a scrape took in is the services' own metrics.
        series = api(f"{prometheus}/api/v1/query?query=efrikort_outbox_backlog")["result"]
        assert set(SERVICE_PORTS) <= {s["metric"]["job"] for s in series}

        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=90) == 0
    finally:
        if cli.poll() is None:
            # The services run in sessions of their own: killing the command alone would leave them running.
            for child in psutil.Process(cli.pid).children(recursive=True):
                child.kill()
            cli.kill()
    assert prometheus_pid is not None and not (
        psutil.pid_exists(prometheus_pid) and psutil.Process(prometheus_pid).status() != "zombie"
    ), "prometheus left running"
