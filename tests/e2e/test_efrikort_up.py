"""`efrikort up` brings up Kafka, PostgreSQL, every service and the desk, says where each listens, and
Ctrl-C stops all of it without leaving a process behind."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from efrikort.services import DESK, SERVICE_PORTS
from tests.e2e.private_stack import private_stack

pytestmark = pytest.mark.e2e


def test_efrikort_up_reaches_ready_for_every_service_and_ctrl_c_leaves_nothing_running(server_dir: Path) -> None:
    stack = private_stack(server_dir)
    env, base, kafka_port, postgres_port = stack.env, stack.base, stack.kafka_port, stack.postgres_port
    cli = subprocess.Popen(
        [sys.executable, "-m", "efrikort.cli", "up", "--http-port-base", str(base)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        assert cli.stdout is not None
        for line in cli.stdout:
            output.append(line)
            if "e-frikort is up" in line:
                break
            assert time.monotonic() < deadline, "".join(output)
        else:
            pytest.fail("efrikort up ended before it was up:\n" + "".join(output))
        for _ in [*SERVICE_PORTS, DESK]:
            output.append(cli.stdout.readline())
        for _ in range(3):
            output.append(cli.stdout.readline())
        listing = "".join(output)
        for index, name in enumerate(SERVICE_PORTS, 1):
            assert re.search(rf"{name}\s+http://127\.0\.0\.1:{base + index}", listing), listing
        desk = base + len(SERVICE_PORTS) + 1
        assert re.search(rf"desk\s+http://127\.0\.0\.1:{desk}/", listing), listing
        assert f"127.0.0.1:{kafka_port}" in listing and f":{postgres_port}/" in listing

        family = {p.pid for p in psutil.Process(cli.pid).children(recursive=True)}
        family |= {
            p.pid for p in psutil.process_iter(["cmdline"]) if str(server_dir) in " ".join(p.info["cmdline"] or [])
        }
        assert len(family) >= len(SERVICE_PORTS) + 3, "expected the services, the desk, Kafka and PostgreSQL"

        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=90) == 0
    finally:
        if cli.poll() is None:
            cli.kill()
    leftovers = [pid for pid in family if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert leftovers == [], f"processes left behind: {leftovers}"
