"""The whole stack as processes, shared by every kind of test that needs it (e2e and browser): the four
services, each in a process of its own, against the session's Kafka and PostgreSQL, with the sample
directory loaded as `efrikort up` loads it. Defined once here, so a run of the whole suite starts them once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from access.directory import parse_export
from efrikort.cli import SAMPLE_DIRECTORY
from efrikort.infra.paths import repo_root, var_dir
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import SERVICE_PORTS, ServiceProcess
from efrikort.through_access import until_opened
from tests.actors import held
from tests.infra_fixtures import free_ports
from tests.notice_receivers import MAILBOX_ENV
from tests.otlp_receiver import OtlpReceiver, otlp_receiver
from tests.submissions import EXAMPLE_SYSTEM

__all__ = ["NOTICE_WEBHOOK_SECRET", "otlp", "running_services", "service_env", "services"]

NOTICE_WEBHOOK_SECRET = "e2e-webhook-secret"


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    """Where every service of the session exports its spans (`runtime.tracing`)."""
    with otlp_receiver() as (receiver, endpoint):
        receiver.endpoint = endpoint
        yield receiver


@pytest.fixture(scope="session")
def service_env(infra: InfraEndpoints, otlp: OtlpReceiver) -> dict[str, str]:
    return {
        **infra.as_env(),
        # Traced as in production, the spans exported within a fraction of a second (the SDK's default is 5 s).
        "EFRIKORT_OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "EFRIKORT_OUTBOX_POLL_INTERVAL_S": "0.1",
        # The HTTP tests say who calls in the development header; the reply wait is long enough for a busy machine.
        "EFRIKORT_TRUST_IDENTITY_HEADER": "true",
        "EFRIKORT_REGISTRATION_REPLY_TIMEOUT_S": "10",
        "EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET": NOTICE_WEBHOOK_SECRET,
        **MAILBOX_ENV,
        "EFRIKORT_NOTIFICATIONS_LETTER_FOLDER": str(var_dir() / "test" / "letters"),
        "EFRIKORT_NOTIFICATIONS_POLL_INTERVAL_S": "0.2",
        "EFRIKORT_NOTIFICATIONS_BACKOFF_INITIAL_S": "0.5",
    }


@pytest.fixture(scope="session")
async def services(running_services: dict[str, ServiceProcess], infra: InfraEndpoints) -> dict[str, ServiceProcess]:
    """Every service running, and the sample directory's actors (those `tests.submissions` names among
    them) allowed to register fees: access has published their grants, the deciding services hold them,
    and access has opened the sample system's topics, so no test sends before they exist."""
    await held(infra, parse_export((repo_root() / SAMPLE_DIRECTORY).read_bytes()))
    await until_opened(infra.kafka_bootstrap_servers, infra.admin_options(), [EXAMPLE_SYSTEM])
    return running_services


@pytest.fixture(scope="session")
def running_services(service_env: dict[str, str], infra: InfraEndpoints) -> Iterator[dict[str, ServiceProcess]]:
    logs = var_dir() / "test" / "logs" / time.strftime("%Y%m%d-%H%M%S")
    processes = {
        name: ServiceProcess(name, port, {**service_env, **infra.service_env(name)}, logs / f"{name}.log")
        for name, port in zip(SERVICE_PORTS, free_ports(len(SERVICE_PORTS)), strict=True)
    }
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready(timeout=120)
        # As `efrikort up` does: the sample directory, so that the example actors are authorized.
        subprocess.run(
            [sys.executable, "-m", "access.importer", str(repo_root() / SAMPLE_DIRECTORY)],
            env={**os.environ, **service_env},
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        yield processes
    finally:
        for process in processes.values():
            process.stop()
