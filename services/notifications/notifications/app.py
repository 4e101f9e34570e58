"""Wiring of the notifications service."""

from __future__ import annotations

from pathlib import Path

from contracts.topics import FREE_CARDS
from notifications.handlers import on_free_card_issued
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "notifications"


def build(runtime: Runtime) -> Service:
    return Service(
        name=NAME,
        title="e-frikort notifications",
        migrations=Path(__file__).parent / "migrations",
        consumers=[Consumer(FREE_CARDS, group=NAME, handler=on_free_card_issued)],
    )


def main() -> None:
    run(build, ServiceSettings.for_service(NAME, http_port=8084))
