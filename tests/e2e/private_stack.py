"""An `efrikort up` of a test's own: a private var/ and free ports, so that it touches no other stack."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from efrikort.infra._proc import port_is_free
from efrikort.infra.paths import var_dir
from efrikort.services import SERVICE_PORTS
from tests.infra_fixtures import free_ports


def consecutive_free_ports(count: int, avoid: set[int]) -> int:
    """The first of `count` consecutive free ports, for the services' BASE+1 .. BASE+count."""
    for start in range(20000, 60000, count + 1):
        candidates = range(start, start + count)
        if not avoid.intersection(candidates) and all(port_is_free("127.0.0.1", p) for p in candidates):
            return start
    raise RuntimeError("no run of free ports")


@dataclass(frozen=True)
class PrivateStack:
    """Where an `efrikort up` of the test's own runs: a private var/ sharing only the download cache (so it
    touches no other state), free ports, the services on `base`+1 .. `base`+4 and the desk after them."""

    env: dict[str, str]
    base: int
    kafka_port: int
    postgres_port: int
    spare_ports: list[int]
    """Further free ports the test asked for, none of them the stack's."""


def private_stack(server_dir: Path, spare: int = 0) -> PrivateStack:
    (server_dir / "cache").symlink_to(var_dir() / "cache", target_is_directory=True)
    kafka_port, controller_port, postgres_port, *spare_ports = free_ports(3 + spare)
    taken = {kafka_port, controller_port, postgres_port, *spare_ports}
    base = consecutive_free_ports(len(SERVICE_PORTS) + 1, avoid=taken) - 1
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    env |= {
        "EFRIKORT_VAR_DIR": str(server_dir),
        "EFRIKORT_KAFKA_PORT": str(kafka_port),
        "EFRIKORT_KAFKA_CONTROLLER_PORT": str(controller_port),
        "EFRIKORT_POSTGRES_PORT": str(postgres_port),
    }
    return PrivateStack(env, base, kafka_port, postgres_port, spare_ports)
