"""Session fixtures providing a real Kafka and a real PostgreSQL to the tests.

Each of the two servers is chosen independently, first match wins:

1. ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` set in the environment: that server is used
   as it is, never started, stopped or cleaned up by the tests.
2. testcontainers, but only when a Docker engine answers a ping and ``EFRIKORT_TESTCONTAINERS``
   is not ``"0"``: throw-away containers (Kafka 4.1 via ``confluentinc/cp-kafka:8.1.0``,
   PostgreSQL 18), removed at session end. Override the images with
   ``EFRIKORT_TEST_KAFKA_IMAGE`` / ``EFRIKORT_TEST_POSTGRES_IMAGE``.
3. Otherwise our own servers (``efrikort.infra``, no Docker) on free ports picked by binding
   port 0, with data in a fresh directory under ``var/test/``, so they never clash with a
   stack started by ``efrikort up``; stopped and deleted at session end. Directories left by
   a session that was killed are cleaned up by the next one.

Use from ``tests/conftest.py`` with ``from tests.infra_fixtures import *`` or
``pytest_plugins = ["tests.infra_fixtures"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import uvicorn

from efrikort.infra.paths import var_dir
from efrikort.infra.stack import (
    DATABASE_URL_ENV,
    KAFKA_BOOTSTRAP_SERVERS_ENV,
    InfraEndpoints,
    LocalInfra,
    external_kafka_endpoints,
)
from efrikort.kafka_principals import provision_services_blocking

TESTCONTAINERS_ENV = "EFRIKORT_TESTCONTAINERS"
KAFKA_IMAGE_ENV = "EFRIKORT_TEST_KAFKA_IMAGE"
POSTGRES_IMAGE_ENV = "EFRIKORT_TEST_POSTGRES_IMAGE"
# Same Kafka and PostgreSQL major versions as the local stack, so a test that passes on a
# Docker machine means the same on one without Docker. cp-kafka 8.1 is Apache Kafka 4.1.
DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:8.1.0"
DEFAULT_POSTGRES_IMAGE = "postgres:18"

_OWNER_FILE = "owner.pid"

__all__ = [
    "database_url",
    "db",
    "infra",
    "kafka_bootstrap_servers",
    "local_test_dir",
    "server_dir",
]


def docker_available() -> bool:
    """Whether a Docker engine answers, within about a second."""
    if os.environ.get(TESTCONTAINERS_ENV, "").strip() == "0":
        return False
    # docker.from_env() (which testcontainers uses too) only looks at $DOCKER_HOST or the
    # default socket; without either there is nothing to ask, and importing the docker package
    # alone costs more than a second.
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker  # comes with testcontainers; absent means no containers anyway

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        # Any failure (no socket, no permission, engine down, package missing) means "no".
        return False


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports the kernel considers free now.

    All sockets stay bound until every port is picked, so the kernel cannot hand out the same
    port twice.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        return ports


def _stop_processes_under(directory: Path) -> None:
    """Terminate any process whose command line names a path inside ``directory``.

    The safety net behind the servers' own stop(): a test session's directory is unique
    (mkdtemp), so whatever mentions it was started for that session, and a server left running
    after its files are deleted could otherwise only be found by hand.
    """
    marker = f"{directory}{os.sep}"  # the separator keeps s-abc from matching s-abcd
    leftovers = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid == os.getpid():
            continue
        if any(marker in arg for arg in proc.info["cmdline"] or ()):
            leftovers.append(proc)
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(leftovers, timeout=10)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _reap_stale_test_dirs(root: Path) -> None:
    """Stop servers and delete data left under ``var/test`` by test sessions that died."""
    if not root.is_dir():
        return
    for session_dir in root.iterdir():
        owner_file = session_dir / _OWNER_FILE
        try:
            owner = int(owner_file.read_text().strip())
        except (FileNotFoundError, ValueError, NotADirectoryError):
            continue
        if psutil.pid_exists(owner):
            continue
        # Orderly first (clean shutdown, pid files), then whatever is left.
        with contextlib.suppress(Exception):
            LocalInfra(data_dir=session_dir / "data", environ={}).down()
        _stop_processes_under(session_dir)
        shutil.rmtree(session_dir, ignore_errors=True)


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A directory for a test's own servers, under var/test rather than pytest's temporary root:
    PostgreSQL runs as an unprivileged user that must traverse to its data, and another pytest session
    starting on the machine closes pytest's root to its owner again."""
    path = var_dir() / "test" / f"own-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        _stop_processes_under(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def local_test_dir() -> Iterator[Path]:
    """A fresh directory under ``var/test/`` for this session, deleted at the end."""
    root = var_dir() / "test"
    root.mkdir(parents=True, exist_ok=True)
    _reap_stale_test_dirs(root)
    # Short prefix: PostgreSQL's unix socket path inside it must stay under 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="s-", dir=root))
    (path / _OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        yield path
    finally:
        # The fixtures using the directory stopped their servers already, unless that failed.
        _stop_processes_under(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def db(infra: InfraEndpoints) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the server's owner, to look into every service's schema from outside."""
    conn = await asyncpg.connect(infra.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[InfraEndpoints]:
    """Endpoints of a running Kafka and PostgreSQL, chosen as the module docstring says."""
    kafka = os.environ.get(KAFKA_BOOTSTRAP_SERVERS_ENV) or None
    database = os.environ.get(DATABASE_URL_ENV) or None
    if kafka and database:
        yield _as_admin(external_kafka_endpoints(kafka, database, os.environ))
        return

    with contextlib.ExitStack() as cleanup:
        if docker_available():
            if kafka is None:
                kafka = cleanup.enter_context(_kafka_container())
            if database is None:
                database = cleanup.enter_context(_postgres_container())
        else:
            directory: Path = request.getfixturevalue("local_test_dir")
            # Only what was given explicitly counts as external; everything else is ours.
            external = {
                name: value
                for name, value in ((KAFKA_BOOTSTRAP_SERVERS_ENV, kafka), (DATABASE_URL_ENV, database))
                if value
            }
            _, endpoints = cleanup.enter_context(local_infra(directory / "data", environ=external))
            yield _as_admin(endpoints)
            return
        yield _as_admin(InfraEndpoints(kafka_bootstrap_servers=kafka, database_url=database))


@contextlib.contextmanager
def local_infra(
    data_dir: Path, *, brokers: int = 1, environ: dict[str, str] | None = None
) -> Iterator[tuple[LocalInfra, InfraEndpoints]]:
    """Our own Kafka of `brokers` nodes and PostgreSQL on free ports, their data in `data_dir`, every
    service's principal provisioned; stopped and wiped afterwards (a half-successful start too)."""
    ports = free_ports(2 * brokers + 1)
    local = LocalInfra(
        data_dir=data_dir,
        brokers=brokers,
        kafka_node_ports=list(zip(ports[0 : 2 * brokers : 2], ports[1 : 2 * brokers : 2], strict=True)),
        postgres_port=ports[-1],
        environ=environ or {},
    )
    try:
        endpoints = local.up()
        provision_services_blocking(endpoints)
        yield local, endpoints
    finally:
        local.reset()


def _as_admin(endpoints: InfraEndpoints) -> InfraEndpoints:
    """The test process's own Kafka clients (and the services tests build in it) connect as the admin
    user: `EFRIKORT_KAFKA_*` in this process's environment say so. Services started as processes are
    given their own principals (`InfraEndpoints.service_env`)."""
    os.environ.update(endpoints.kafka_env(endpoints.kafka_admin))
    return endpoints


@contextlib.contextmanager
def _kafka_container() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer

    container = (
        KafkaContainer(os.environ.get(KAFKA_IMAGE_ENV, DEFAULT_KAFKA_IMAGE))
        .with_kraft()
        # Same behaviour as deploy/kafka/server.properties.template.
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
    )
    with container:
        yield container.get_bootstrap_server()


@contextlib.contextmanager
def _postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(
        os.environ.get(POSTGRES_IMAGE_ENV, DEFAULT_POSTGRES_IMAGE),
        username="postgres",
        password="postgres",
        dbname="efrikort",
        driver=None,  # plain postgresql:// URL, as asyncpg expects
    )
    with container:
        yield container.get_connection_url()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(infra: InfraEndpoints) -> str:
    return infra.kafka_bootstrap_servers


@pytest.fixture(scope="session")
def database_url(infra: InfraEndpoints) -> str:
    return infra.database_url


@contextlib.asynccontextmanager
async def uvicorn_serving(config: uvicorn.Config) -> AsyncIterator[uvicorn.Server]:
    """A uvicorn server in this event loop, started before the block (the test fails if it does not start
    within 10 s) and stopped after it."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "the server did not start within 10 s"
        yield server
    finally:
        server.should_exit = True
        await task
