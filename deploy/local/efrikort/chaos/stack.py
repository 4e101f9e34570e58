"""The chaos run's own e-frikort: Kafka, PostgreSQL and the four services started under a directory of
its own, on free ports, so that killing and restarting them never touches a developer's stack.

Like `efrikort up`, but every server and process is the run's: it may SIGKILL a service, restart the
broker and restart PostgreSQL, and it stops everything when it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from access.settings import AccessSettings
from efrikort import credentials
from efrikort.chaos.workload import CHAOS_EMPLOYEE, CHAOS_PROVIDER, CHAOS_SYSTEM, CHAOS_UNITS
from efrikort.example import SystemLogin
from efrikort.infra.paths import var_dir
from efrikort.infra.stack import InfraEndpoints, LocalInfra
from efrikort.kafka_principals import provision_services
from efrikort.services import SERVICE_PORTS, ServiceProcess
from efrikort.through_access import PartialExport, grant_keys, import_actors, until_held, until_opened
from runtime.service import METADATA_MAX_AGE_MS
from runtime.settings import DEVELOPMENT_ENV


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free now (each held until all are picked, so none is handed out twice)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def chaos_actors(region: str) -> PartialExport:
    """The run's provider (agreement signed), its three units, one employee (`EFK;Användare` at each) and
    its integrated system: none of them the sample directory's."""
    actors = PartialExport(region)
    provider = actors.provider(CHAOS_PROVIDER)
    for unit in CHAOS_UNITS:
        actors.employee(CHAOS_EMPLOYEE, actors.unit(unit, provider))
    actors.system(CHAOS_SYSTEM)
    return actors


@dataclass
class ChaosStack:
    """The run's servers and service processes."""

    root: Path
    infra: LocalInfra
    services: dict[str, ServiceProcess]
    patient_key_secret: str
    started: InfraEndpoints | None = None

    @property
    def endpoints(self) -> InfraEndpoints:
        if self.started is None:
            raise RuntimeError("the run's Kafka and PostgreSQL are not started")
        return self.started

    @classmethod
    def create(cls, root: Path) -> ChaosStack:
        """Not started yet: a fresh directory (what an earlier run left there is wiped), free ports."""
        shutil.rmtree(root / "data", ignore_errors=True)
        kafka_port, controller_port, postgres_port, *http_ports = free_ports(3 + len(SERVICE_PORTS))
        infra = LocalInfra(
            data_dir=root / "data",
            cache_dir=var_dir() / "cache",
            kafka_port=kafka_port,
            kafka_controller_port=controller_port,
            postgres_port=postgres_port,
            environ={},  # never a server the environment names: the run restarts its servers
        )
        stack = cls(root, infra, {}, secrets.token_urlsafe(32))
        stack.services = {
            name: ServiceProcess(name, port, {}, root / "logs" / f"{name}.log")
            for name, port in zip(SERVICE_PORTS, http_ports, strict=True)
        }
        return stack

    def service_env(self, name: str) -> dict[str, str]:
        return {
            **self.endpoints.service_env(name),
            **DEVELOPMENT_ENV,
            "EFRIKORT_PATIENT_KEY_SECRET": self.patient_key_secret,
            "EFRIKORT_TRUST_IDENTITY_HEADER": "true",  # the run corrects and deletes fees as its employee
            "EFRIKORT_NOTIFICATIONS_LETTER_FOLDER": str(self.root / "letters"),
            "EFRIKORT_OUTBOX_POLL_INTERVAL_S": "0.1",
            "EFRIKORT_SERVICE_DATABASE_URL": "",
        }

    def start_infra(self) -> None:
        self.started = self.infra.up()
        asyncio.run(provision_services(self.endpoints))
        for name, process in self.services.items():
            process.env = self.service_env(name)

    def start_services(self, timeout: float) -> None:
        for process in self.services.values():
            process.start()
        for process in self.services.values():
            process.wait_ready(timeout=timeout)

    def access_settings(self) -> AccessSettings:
        """Access's own settings, as `efrikort import-directory` would use them against this stack."""
        assert self.endpoints.kafka_credentials is not None
        login = self.endpoints.kafka_credentials.get_or_create("access")
        return AccessSettings(
            service_name="access",
            kafka_bootstrap_servers=self.endpoints.kafka_bootstrap_servers,
            database_url=self.endpoints.database_url,
            service_database_url=None,
            kafka_sasl_username=login.username,
            kafka_sasl_password=SecretStr(login.password),
            development_mode=True,
            patient_key_secret=SecretStr(self.patient_key_secret),
        )

    async def admit_actors(self) -> SystemLogin:
        """The run's actors imported into access, their grants held by registration, the system's topics
        opened and a Kafka login issued to it; registration has found the new topic (pattern subscription)."""
        settings = self.access_settings()
        actors = chaos_actors(settings.region)
        await import_actors(actors, settings)
        bootstrap = self.endpoints.kafka_bootstrap_servers
        await until_opened(bootstrap, self.endpoints.admin_options(), [CHAOS_SYSTEM], timeout=120)
        keys = grant_keys(actors.export())
        await until_held(self.endpoints.database_url, keys, access_schema="access", readers=("registration",))
        files = await credentials.issue(self.endpoints, CHAOS_SYSTEM, self.root / "credentials")
        await asyncio.sleep(METADATA_MAX_AGE_MS / 1000 + 1)
        return SystemLogin.from_kcat_file(files.kcat)

    def stop(self) -> None:
        for process in self.services.values():
            process.stop()
        self.infra.down()
