"""Wiring of the registration service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contracts.topics import AUDIT, FEES, INTERNAL_FEE_OUTCOMES, SYSTEM_FEE_OUTCOMES, SYSTEM_FEE_SUBMISSIONS
from registration.handlers import on_fee_outcomes, on_fee_submissions
from registration.outcome_waiters import OutcomeWaiters
from registration.routes import answer_from_the_database, router
from registration.settings import RegistrationSettings
from registration.submission_rules import RegionCoverage
from runtime.access_grants import grants_consumer
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run

NAME = "registration"


def build(runtime: Runtime[RegistrationSettings]) -> Service:
    settings = runtime.settings
    waiters = OutcomeWaiters(settings.reply_timeout_s)
    return Service(
        name=NAME,
        title="e-frikort registration",
        migrations=Path(__file__).parent / "migrations",
        consumers=[
            Consumer(
                SYSTEM_FEE_SUBMISSIONS,
                group=NAME,
                batch_handler=partial(
                    on_fee_submissions,
                    key_secret=settings.patient_key_secret.get_secret_value(),
                    region=settings.region,
                    first_visit_date=settings.first_visit_date,
                ),
            ),
            grants_consumer(NAME),
            Consumer(
                INTERNAL_FEE_OUTCOMES,
                group=f"{NAME}-fee-outcomes",
                batch_handler=partial(on_fee_outcomes, waiters=waiters),
            ),
        ],
        produces=[FEES, INTERNAL_FEE_OUTCOMES, SYSTEM_FEE_OUTCOMES, AUDIT],
        router=router,
        provides=[waiters, RegionCoverage(settings.first_visit_date)],
        background=[partial(answer_from_the_database, waiters=waiters)],
    )


def main() -> None:
    run(build, RegistrationSettings.for_service(NAME, http_port=8081))
