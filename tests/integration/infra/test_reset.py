"""`efrikort infra reset` stops the local servers and wipes their data, and never wipes the files of
a server it did not stop: with DATABASE_URL or KAFKA_BOOTSTRAP_SERVERS set, the stack leaves those
servers alone, and a local one still running must keep its data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from efrikort.infra.stack import DATABASE_URL_ENV, KAFKA_BOOTSTRAP_SERVERS_ENV, LocalInfra
from tests.infra_fixtures import free_ports

pytestmark = pytest.mark.integration


def test_reset_keeps_the_data_of_a_local_server_it_was_told_to_leave_alone(server_dir: Path) -> None:
    data = server_dir / "data"
    [postgres_port] = free_ports(1)
    local = LocalInfra(data, environ={}, postgres_port=postgres_port)
    local.postgres.start()
    try:
        told_external = LocalInfra(
            data,
            postgres_port=postgres_port,
            environ={
                DATABASE_URL_ENV: f"postgresql://postgres@127.0.0.1:{postgres_port}/efrikort",
                KAFKA_BOOTSTRAP_SERVERS_ENV: "127.0.0.1:1",
            },
        )

        with pytest.raises(RuntimeError, match="PostgreSQL under it still running"):
            told_external.reset()

        assert local.postgres.is_running()
        assert any((data / "postgres").iterdir())
    finally:
        local.postgres.stop()

    local.reset()
    assert not data.exists()
