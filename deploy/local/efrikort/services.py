"""Running the services as processes of their own, and knowing when they are ready."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_PORTS: dict[str, int] = {"registration": 8081, "protection": 8082, "access": 8083, "notifications": 8084}
"""Every service and the HTTP port it listens on by default."""
DESK = "desk"
DESK_PORT = 8080
"""The desk (the web application): no Kafka, no PostgreSQL, only the services' HTTP APIs."""
DEVELOPMENT_IDENTITY_ENV = "EFRIKORT_TRUST_IDENTITY_HEADER"
"""On in `efrikort up` and `efrikort containers up`: the services trust the X-HSA-ID header the desk names
the signed-in person in."""


def desk_env(services: Mapping[str, ServiceProcess]) -> dict[str, str]:
    """Where the desk finds the services it calls."""
    return {f"EFRIKORT_DESK_{name.upper()}_URL": process.url for name, process in services.items()}


@dataclass
class ServiceProcess:
    """One service in a process of its own, its output in a log file."""

    name: str
    port: int
    env: Mapping[str, str]
    log_path: Path
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self.name not in SERVICE_PORTS and self.name != DESK:
            raise ValueError(f"no service named {self.name!r}; there are {', '.join([*SERVICE_PORTS, DESK])}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "EFRIKORT_HTTP_PORT": str(self.port), "EFRIKORT_HTTP_HOST": self.host}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def readiness(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
        except (OSError, ValueError):
            return None
        try:
            return json.loads(body or b"{}")
        except ValueError:
            return None  # not the service's own answer (a proxy, a crash): not ready

    def wait_ready(self, timeout: float = 60) -> float:
        """Wait until /ready answers 200; returns the seconds it took. Fails early if the process dies."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}\n" + self.log_tail()
                )
            state = self.readiness()
            if state and state.get("ready"):
                return time.monotonic() - started
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.name} not ready after {timeout:.0f}s ({self.readiness()}); see {self.log_path}\n" + self.log_tail()
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, the graceful way; SIGKILL if it does not finish in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)
