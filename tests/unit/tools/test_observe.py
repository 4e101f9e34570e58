"""`efrikort up --observe`: the Prometheus configuration it writes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from efrikort.infra.paths import repo_root
from efrikort.observe import ALERT_RULES, prometheus_config
from efrikort.services import SERVICE_PORTS, ServiceProcess


def process(name: str, port: int) -> ServiceProcess:
    return ServiceProcess(name, port, {}, Path("/dev/null"))


def test_each_replica_of_a_service_is_a_target_of_its_job_with_its_own_instance_and_replica_label() -> None:
    services = [process("registration", 8081), process("protection", 8082), process("registration", 8091)]
    services += [process("registration", 8101), process("desk", 8080)]

    config = json.loads(prometheus_config(services, Path("/rules.yml")))

    jobs = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    # Prometheus refuses a configuration with a job name twice.
    assert len(jobs) == len(config["scrape_configs"]) == 3
    assert jobs["registration"] == [
        {"targets": ["127.0.0.1:8081"], "labels": {"replica": "1"}},
        {"targets": ["127.0.0.1:8091"], "labels": {"replica": "2"}},
        {"targets": ["127.0.0.1:8101"], "labels": {"replica": "3"}},
    ]
    assert jobs["desk"] == [{"targets": ["127.0.0.1:8080"], "labels": {"replica": "1"}}]
    assert config["rule_files"] == ["/rules.yml"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)")
def test_prometheus_takes_the_configuration_of_three_replicas_of_every_service(tmp_path: Path) -> None:
    services = [process(name, 8081 + i + 10 * r) for r in range(3) for i, name in enumerate(SERVICE_PORTS)]
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config([*services, process("desk", 8080)], repo_root() / ALERT_RULES))

    checked = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr
