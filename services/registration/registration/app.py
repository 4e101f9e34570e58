"""Wiring of the registration service."""

from __future__ import annotations

from pathlib import Path

from contracts.topics import FEE_OUTCOMES, FEE_SUBMISSIONS, FEES
from registration.handlers import on_fee_submission
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "registration"


def build(runtime: Runtime) -> Service:
    secret = runtime.settings.patient_key_secret.get_secret_value()
    return Service(
        name=NAME,
        title="e-frikort registration",
        migrations=Path(__file__).parent / "migrations",
        consumers=[Consumer(FEE_SUBMISSIONS, group=NAME, handler=on_fee_submission(secret))],
        produces=[FEES, FEE_OUTCOMES],
    )


def main() -> None:
    run(build, ServiceSettings.for_service(NAME, http_port=8081))
