"""Prometheus beside the local stack (`efrikort up --observe`): every service's /metrics scraped, the
alert rules of `deploy/observability/alerts.yml` loaded. Prometheus is Debian's (`apt-get install prometheus`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from efrikort.infra.paths import repo_root
from efrikort.services import ServiceProcess

ALERT_RULES = Path("deploy/observability/alerts.yml")
SCRAPE_INTERVAL = "5s"
"""Often enough to watch a local test run on the graphs; rate() windows of a minute then have samples."""
PROMETHEUS_PORT = 9090


class PrometheusMissing(RuntimeError):
    """No `prometheus` on PATH."""


def prometheus_config(services: Sequence[ServiceProcess], rules: Path) -> str:
    """A Prometheus configuration (JSON is YAML) scraping each service as a job of its name, each replica
    of it (`efrikort up --replicas N`) a target of that job: its own `instance` (host:port) and `replica`
    label (1, 2, ...), so that a job's series add up across replicas and one replica can be told apart."""
    replicas: dict[str, list[ServiceProcess]] = {}
    for service in services:
        replicas.setdefault(service.name, []).append(service)
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [
                    {"targets": [f"{replica.host}:{replica.port}"], "labels": {"replica": str(number)}}
                    for number, replica in enumerate(processes, 1)
                ],
            }
            for name, processes in replicas.items()
        ],
    }
    return json.dumps(config, indent=2)


@dataclass
class PrometheusProcess:
    """Prometheus in a process of its own, its data and configuration under `home`, its output in a log."""

    home: Path
    port: int = PROMETHEUS_PORT
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "prometheus.log"

    def start(self, services: Sequence[ServiceProcess]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise PrometheusMissing("prometheus is not installed (Debian: apt-get install prometheus)")
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "prometheus.yml"
        config.write_text(prometheus_config(services, repo_root() / ALERT_RULES))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.home / 'data'}",
                    f"--web.listen-address={self.host}:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until Prometheus answers /-/ready; fails early if it exits (a port taken, a bad rule file)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready after {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
