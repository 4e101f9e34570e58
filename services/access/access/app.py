"""Wiring of the access service."""

from __future__ import annotations

from pathlib import Path

from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "access"


def build(runtime: Runtime) -> Service:
    return Service(name=NAME, title="e-frikort access", migrations=Path(__file__).parent / "migrations")


def main() -> None:
    run(build, ServiceSettings.for_service(NAME, http_port=8083))
