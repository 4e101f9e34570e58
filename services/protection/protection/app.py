"""Wiring of the protection service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contracts.topics import (
    AUDIT,
    FEES,
    FREE_CARDS,
    INTERNAL_FEE_OUTCOMES,
    OVERCHARGES,
    PATIENT_STATUS,
    SYSTEM_FEE_OUTCOMES,
)
from protection.handlers import on_fee_events
from protection.regions import RegionSettings
from protection.routes import router
from protection.settings import ProtectionSettings
from runtime.access_grants import grants_consumer
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run

NAME = "protection"


def build(runtime: Runtime[ProtectionSettings]) -> Service:
    region = RegionSettings.load(runtime.settings.region_file)
    return Service(
        name=NAME,
        title="e-frikort protection",
        migrations=Path(__file__).parent / "migrations",
        consumers=[
            Consumer(FEES, group=NAME, batch_handler=partial(on_fee_events, region=region)),
            grants_consumer(NAME),
        ],
        produces=[INTERNAL_FEE_OUTCOMES, SYSTEM_FEE_OUTCOMES, FREE_CARDS, OVERCHARGES, PATIENT_STATUS, AUDIT],
        router=router,
        provides=[region],
    )


def main() -> None:
    run(build, ProtectionSettings.for_service(NAME, http_port=8082))
