"""The local infrastructure as one unit: Kafka plus PostgreSQL, started without Docker.

Either server can instead be supplied from outside: when ``KAFKA_BOOTSTRAP_SERVERS`` or
``DATABASE_URL`` is set, that server is used as it is and never started or stopped here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from efrikort.infra.credentials import Credential, CredentialStore
from efrikort.infra.kafka import KafkaCluster, client_options, recorded_brokers
from efrikort.infra.paths import repo_root, var_dir
from efrikort.infra.postgres import PostgresServer

KAFKA_BOOTSTRAP_SERVERS_ENV = "KAFKA_BOOTSTRAP_SERVERS"
DATABASE_URL_ENV = "DATABASE_URL"
KAFKA_PORT_ENV = "EFRIKORT_KAFKA_PORT"
KAFKA_CONTROLLER_PORT_ENV = "EFRIKORT_KAFKA_CONTROLLER_PORT"
POSTGRES_PORT_ENV = "EFRIKORT_POSTGRES_PORT"
KAFKA_BROKERS_ENV = "EFRIKORT_KAFKA_BROKERS"
TOPIC_REPLICATION_FACTOR_ENV = "EFRIKORT_TOPIC_REPLICATION_FACTOR"

DEFAULT_KAFKA_PORT = 9092
DEFAULT_POSTGRES_PORT = 55432


@dataclass(frozen=True)
class InfraEndpoints:
    """How services and tests reach the infrastructure, and as whom they reach Kafka."""

    kafka_bootstrap_servers: str
    database_url: str
    kafka_ca_file: str | None = None
    """The CA of the broker's certificate; with `kafka_admin`, Kafka is reached over SASL_SSL."""
    kafka_admin: Credential | None = None
    """The admin tooling's super user; None for an unsecured throw-away broker (a test container)."""
    kafka_credentials: CredentialStore | None = None
    """Where the local stack keeps each principal's password (None: principals are provisioned elsewhere)."""
    topic_replication_factor: int = 1
    """How many brokers hold each topic the services create: 3 on a local three-broker cluster."""

    def as_env(self) -> dict[str, str]:
        """The endpoints as the environment variables the services read, connecting as the admin user
        (the project's own tooling and the tests' in-process services)."""
        # Said only when more than one: an operator's own setting for an external cluster stays theirs.
        factor = self.topic_replication_factor
        replication = {TOPIC_REPLICATION_FACTOR_ENV: str(factor)} if factor > 1 else {}
        return {
            KAFKA_BOOTSTRAP_SERVERS_ENV: self.kafka_bootstrap_servers,
            DATABASE_URL_ENV: self.database_url,
            **self.kafka_env(self.kafka_admin),
            **replication,
        }

    def service_env(self, principal: str) -> dict[str, str]:
        """`as_env`, but connecting to Kafka as `principal` (a service's own user)."""
        if self.kafka_credentials is None or self.kafka_admin is None:
            return self.as_env()
        return {**self.as_env(), **self.kafka_env(self.kafka_credentials.get_or_create(principal))}

    def kafka_env(self, credential: Credential | None) -> dict[str, str]:
        """The `EFRIKORT_KAFKA_*` variables for connecting as `credential`."""
        if credential is None:
            return {"EFRIKORT_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
        return {
            "EFRIKORT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "EFRIKORT_KAFKA_SASL_USERNAME": credential.username,
            "EFRIKORT_KAFKA_SASL_PASSWORD": credential.password,
            "EFRIKORT_KAFKA_SSL_CA_FILE": self.kafka_ca_file or "",
        }

    @contextlib.asynccontextmanager
    async def admin_client(self) -> AsyncIterator[AIOKafkaAdminClient]:
        """An admin client connected as the admin user, for one `async with`."""
        client = AIOKafkaAdminClient(bootstrap_servers=self.kafka_bootstrap_servers, **self.admin_options())
        await client.start()
        try:
            yield client
        finally:
            await client.close()

    def admin_options(self) -> dict[str, object]:
        """aiokafka keyword arguments for connecting as the admin user."""
        if self.kafka_admin is None:
            return {}
        return client_options(self.kafka_admin, self.kafka_ca_file or "")


def external_kafka_endpoints(bootstrap: str, database_url: str, environ: Mapping[str, str]) -> InfraEndpoints:
    """A broker of someone else's: reached as the admin user `EFRIKORT_KAFKA_SASL_USERNAME` and
    `..._PASSWORD` over TLS checked against `EFRIKORT_KAFKA_SSL_CA_FILE`, or unsecured when
    `EFRIKORT_KAFKA_SECURITY_PROTOCOL=PLAINTEXT`."""
    if environ.get("EFRIKORT_KAFKA_SECURITY_PROTOCOL") == "PLAINTEXT":
        return InfraEndpoints(bootstrap, database_url)
    username, password = environ.get("EFRIKORT_KAFKA_SASL_USERNAME"), environ.get("EFRIKORT_KAFKA_SASL_PASSWORD")
    if not username or not password:
        raise ValueError(
            f"{KAFKA_BOOTSTRAP_SERVERS_ENV} names a broker of your own: set EFRIKORT_KAFKA_SASL_USERNAME and "
            "EFRIKORT_KAFKA_SASL_PASSWORD (its admin user) and EFRIKORT_KAFKA_SSL_CA_FILE, or "
            "EFRIKORT_KAFKA_SECURITY_PROTOCOL=PLAINTEXT for an unsecured one"
        )
    return InfraEndpoints(
        bootstrap, database_url, environ.get("EFRIKORT_KAFKA_SSL_CA_FILE"), Credential(username, password)
    )


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number, got {raw!r}") from None


class LocalInfra:
    """Starts, stops and resets the local Kafka and PostgreSQL.

    All state is in files (pid files, data dirs), so ``down()`` in a new process stops what
    ``up()`` started in another one. Arguments override the environment; the environment
    overrides the defaults (``var/data``, ``var/cache``, ports 9092/9093 and 55432).

    ``brokers``: how many Kafka nodes (``EFRIKORT_KAFKA_BROKERS``; by default as many as the data
    under ``data_dir`` was made with, else 1). Node ``i`` (from 0) of several listens on the Kafka
    port + 2i and the controller port + 2i, unless ``kafka_node_ports`` names each node's pair.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        *,
        kafka_port: int | None = None,
        kafka_controller_port: int | None = None,
        postgres_port: int | None = None,
        environ: Mapping[str, str] | None = None,
        brokers: int | None = None,
        kafka_node_ports: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.environ = env
        base = var_dir()
        self.data_dir = (data_dir or base / "data").resolve()
        self.cache_dir = (cache_dir or base / "cache").resolve()

        self.external_kafka: str | None = env.get(KAFKA_BOOTSTRAP_SERVERS_ENV) or None
        self.external_database: str | None = env.get(DATABASE_URL_ENV) or None

        port = kafka_port or _int_env(env, KAFKA_PORT_ENV, DEFAULT_KAFKA_PORT)
        controller_port = kafka_controller_port or _int_env(env, KAFKA_CONTROLLER_PORT_ENV, port + 1)
        count = brokers or _int_env(env, KAFKA_BROKERS_ENV, recorded_brokers(self.data_dir / "kafka") or 1)
        if count < 1:
            raise ValueError(f"a Kafka cluster has at least one broker, not {count}")
        ports = kafka_node_ports or [(port + 2 * node, controller_port + 2 * node) for node in range(count)]
        if len(ports) != count:
            raise ValueError(f"{len(ports)} pairs of Kafka ports for {count} brokers")
        self.kafka = KafkaCluster(
            self.data_dir / "kafka", ports, repo_root=repo_root(), cache_dir=self.cache_dir / "kafka"
        )
        self.postgres = PostgresServer(
            self.data_dir / "postgres",
            postgres_port or _int_env(env, POSTGRES_PORT_ENV, DEFAULT_POSTGRES_PORT),
        )

    @property
    def endpoints(self) -> InfraEndpoints:
        database_url = self.external_database or self.postgres.url
        if self.external_kafka:
            return external_kafka_endpoints(self.external_kafka, database_url, self.environ)
        return InfraEndpoints(
            kafka_bootstrap_servers=self.kafka.bootstrap_servers,
            database_url=database_url,
            kafka_ca_file=str(self.kafka.ca_file),
            kafka_admin=self.kafka.admin,
            kafka_credentials=self.kafka.credentials,
            topic_replication_factor=self.kafka.replication_factor,
        )

    def up(self) -> InfraEndpoints:
        """Start whatever is not external and not yet running; return the endpoints.

        Both servers start in parallel (Kafka's JVM dominates, PostgreSQL is ready well within
        it). If one fails, or the caller is interrupted (Ctrl-C), what this call started is
        stopped again, so a failed ``up`` leaves nothing half-running.
        """
        starters: list[KafkaCluster | PostgresServer] = []
        if self.external_kafka is None:
            starters.append(self.kafka)
        if self.external_database is None:
            starters.append(self.postgres)
        started_here = [s for s in starters if not s.is_running()]

        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(s.start) for s in starters]
                errors: list[Exception] = []
                for future in futures:
                    exc = future.exception()
                    if isinstance(exc, Exception):
                        errors.append(exc)
                    elif exc is not None:
                        # KeyboardInterrupt/SystemExit inside a start: not a startup error.
                        raise exc
        except BaseException:
            # Interrupted while waiting; leaving the with-block let the starts finish first.
            self._stop_quietly(started_here)
            raise
        if errors:
            self._stop_quietly(started_here)
            if len(errors) == 1:
                raise errors[0]
            raise ExceptionGroup("starting the local infrastructure failed", errors)
        return self.endpoints

    @staticmethod
    def _stop_quietly(servers: list[KafkaCluster | PostgresServer]) -> None:
        # Best effort on an error path: the original error is the one worth reporting.
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()

    def down(self) -> None:
        """Stop the servers this stack manages; external ones are left alone.

        Each server is stopped even if stopping the other failed, so one problem never leaves
        the other running; the failures are raised afterwards.
        """
        errors: list[Exception] = []
        for external, server in ((self.external_kafka, self.kafka), (self.external_database, self.postgres)):
            if external is not None:
                continue
            try:
                server.stop()
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("stopping the local infrastructure failed", errors)

    def reset(self) -> None:
        """Stop everything and delete all data; the jar cache (``var/cache``) is kept.

        Nothing is deleted when stopping failed: deleting the files of a running server would
        leave it running with no pid file to find it by.
        """
        self.down()
        # A server counts as external when its variable is set (KAFKA_BOOTSTRAP_SERVERS,
        # DATABASE_URL), and down() leaves it alone; if the local one runs all the same, its files
        # must stay too.
        running = [
            name for name, server in (("Kafka", self.kafka), ("PostgreSQL", self.postgres)) if server.is_running()
        ]
        if running:
            raise RuntimeError(
                f"not wiping {self.data_dir}: the local {' and '.join(running)} under it still running, "
                f"left alone because {KAFKA_BOOTSTRAP_SERVERS_ENV} or {DATABASE_URL_ENV} is set; "
                "unset them and run it again"
            )
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def status(self) -> dict[str, bool | str]:
        """Per server: ``True``/``False`` for running, or ``"external"``."""
        return {
            "kafka": "external" if self.external_kafka else self.kafka.is_running(),
            "postgres": "external" if self.external_database else self.postgres.is_running(),
        }


__all__ = [
    "DATABASE_URL_ENV",
    "KAFKA_BOOTSTRAP_SERVERS_ENV",
    "InfraEndpoints",
    "LocalInfra",
    "repo_root",
    "var_dir",
]
