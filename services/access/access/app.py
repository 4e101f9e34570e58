"""Wiring of the access service."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from pydantic import Field

from access import mirror
from access.handlers import on_agreement_change, on_audit_entries, on_directory_change
from access.routes import build_router
from contracts.topics import ACCESS_GRANTS, AGREEMENTS, AUDIT, DIRECTORY, PATIENT_MEMBERSHIP
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "access"
log = logging.getLogger(__name__)


class AccessSettings(ServiceSettings):
    grant_sweep_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often grants that the calendar changes (a commission ending, an agreement terminated "
        "on a date) are computed again and republished.",
    )


def build(runtime: Runtime) -> Service:
    settings = runtime.settings
    name = settings.service_name  # "access"; tests run it under a name of their own
    interval = settings.grant_sweep_interval_s if isinstance(settings, AccessSettings) else 60.0

    async def sweep_grants(_: Runtime) -> None:
        while True:
            try:
                async with runtime.uow.begin(correlation_id="grant-sweep") as tx:
                    published = await mirror.sweep(tx)
                if published:
                    log.info("grant sweep: %d grants changed with the date", published)
            except Exception:
                log.warning("grant sweep failed; trying again next round", exc_info=True)
            await asyncio.sleep(interval)

    return Service(
        name=name,
        title="e-frikort access",
        migrations=Path(__file__).parent / "migrations",
        consumers=[
            Consumer(DIRECTORY, group=f"{name}-directory", handler=on_directory_change),
            Consumer(AGREEMENTS, group=f"{name}-agreements", handler=on_agreement_change),
            Consumer(AUDIT, group=f"{name}-audit", batch_handler=on_audit_entries),
        ],
        produces=[ACCESS_GRANTS, AUDIT, PATIENT_MEMBERSHIP],
        router=build_router(runtime.uow, settings.patient_key_secret.get_secret_value()),
        background=[sweep_grants],
    )


def settings() -> AccessSettings:
    defaults = AccessSettings(service_name=NAME)
    if "http_port" not in defaults.model_fields_set:
        defaults = defaults.model_copy(update={"http_port": 8083})
    return defaults


def main() -> None:
    run(build, settings())
