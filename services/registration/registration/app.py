"""Wiring of the registration service."""

from __future__ import annotations

from pathlib import Path

from contracts.topics import AUDIT, FEE_OUTCOMES, FEE_SUBMISSIONS, FEES
from registration.handlers import on_fee_outcomes, on_fee_submissions
from registration.outcomes import OutcomeWaiters
from registration.routes import fee_routes
from registration.settings import RegistrationSettings
from runtime.access_grants import grants_consumer
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run

NAME = "registration"


def build(runtime: Runtime) -> Service:
    settings = runtime.settings
    secret = settings.patient_key_secret.get_secret_value()
    reply_timeout_s = getattr(settings, "registration_reply_timeout_s", 2.0)
    waiters = OutcomeWaiters()
    return Service(
        name=NAME,
        title="e-frikort registration",
        migrations=Path(__file__).parent / "migrations",
        consumers=[
            Consumer(FEE_SUBMISSIONS, group=NAME, batch_handler=on_fee_submissions(secret)),
            grants_consumer(NAME),
            Consumer(FEE_OUTCOMES, group=f"{NAME}-fee-outcomes", batch_handler=on_fee_outcomes(waiters)),
        ],
        produces=[FEES, FEE_OUTCOMES, AUDIT],
        router=fee_routes(runtime.uow, secret, waiters, reply_timeout_s),
    )


def main() -> None:
    run(build, RegistrationSettings.for_service(NAME, http_port=8081))
