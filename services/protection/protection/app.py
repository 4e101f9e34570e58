"""Wiring of the protection service."""

from __future__ import annotations

from pathlib import Path

from contracts.topics import FEE_OUTCOMES, FEES, FREE_CARDS
from protection.handlers import on_fee_registered
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "protection"


def build(runtime: Runtime) -> Service:
    return Service(
        name=NAME,
        title="e-frikort protection",
        migrations=Path(__file__).parent / "migrations",
        consumers=[Consumer(FEES, group=NAME, handler=on_fee_registered)],
        produces=[FEE_OUTCOMES, FREE_CARDS],
    )


def main() -> None:
    run(build, ServiceSettings.for_service(NAME, http_port=8082))
