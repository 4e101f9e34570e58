"""Wiring of the access service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from access import mirror, system_topics
from access.handlers import on_agreement_change, on_audit_entries, on_directory_change
from access.routes import router
from access.settings import AccessSettings
from contracts.topics import ACCESS_GRANTS, AGREEMENTS, AUDIT, DIRECTORY, PATIENT_MEMBERSHIP
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run

NAME = "access"
HTTP_PORT = 8083


def build(runtime: Runtime[AccessSettings]) -> Service:
    settings = runtime.settings
    name = settings.service_name  # "access"; tests run it under a name of their own
    return Service(
        name=name,
        title="e-frikort access",
        migrations=Path(__file__).parent / "migrations",
        consumers=[
            Consumer(DIRECTORY, group=f"{name}-directory", handler=on_directory_change),
            Consumer(AGREEMENTS, group=f"{name}-agreements", handler=on_agreement_change),
            Consumer(AUDIT, group=f"{name}-audit", batch_handler=on_audit_entries, gathers=True),
        ],
        produces=[ACCESS_GRANTS, AUDIT, PATIENT_MEMBERSHIP],
        # The Patient Data Act keeps the record of who read or changed a patient's data, exit or not.
        kept_on_exit=["audit_entries"],
        router=router,
        background=[
            partial(mirror.keep_sweeping, work=runtime.uow, interval_s=settings.grant_sweep_interval_s),
            partial(
                system_topics.keep_system_topics,
                region=settings.region,
                interval_s=settings.system_topics_interval_s,
            ),
        ],
    )


def main() -> None:
    run(build, AccessSettings.for_service(NAME, http_port=HTTP_PORT))
