"""The services of the local stack reach its PostgreSQL by the server's Unix socket; tools, people and
containers by TCP; a server of someone else's (`DATABASE_URL`) as its URL says."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from efrikort.containers import service_environment
from efrikort.infra.credentials import ADMIN_USER
from efrikort.infra.stack import LocalInfra


def local_infra(data_dir: Path, environ: dict[str, str] | None = None) -> LocalInfra:
    """The local stack's servers on ports of their own, as made at format (its Kafka admin's login)."""
    infra = LocalInfra(data_dir=data_dir, kafka_port=19092, postgres_port=56432, environ=environ or {})
    infra.kafka.credentials.get_or_create(ADMIN_USER)
    return infra


def test_the_services_of_the_local_stack_reach_its_postgresql_by_the_unix_socket(tmp_path: Path) -> None:
    infra = local_infra(tmp_path)

    url = urlsplit(infra.endpoints.service_env("protection")["DATABASE_URL"])

    assert url.hostname is None and url.path == "/efrikort"
    assert parse_qs(url.query) == {"host": [str(infra.postgres.socket_dir)], "port": ["56432"]}


def test_tools_and_people_are_given_the_tcp_address(tmp_path: Path) -> None:
    endpoints = local_infra(tmp_path).endpoints

    assert (
        endpoints.database_url == endpoints.as_env()["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:56432/efrikort"
    )


def test_a_service_in_a_container_reaches_the_local_postgresql_over_tcp(tmp_path: Path) -> None:
    endpoints = local_infra(tmp_path).endpoints

    env = service_environment(endpoints, "registration", 8081, {})

    assert env["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:56432/efrikort"


def test_a_server_of_someone_elses_is_reached_as_database_url_names_it(tmp_path: Path) -> None:
    theirs = "postgresql://postgres@db.example:5432/efrikort"
    endpoints = local_infra(tmp_path, {"DATABASE_URL": theirs}).endpoints

    assert endpoints.service_env("access")["DATABASE_URL"] == theirs
    assert endpoints.local_database_url is None
