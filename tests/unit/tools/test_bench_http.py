"""The HTTP measurement's connections: kept while in use, opened anew once the service may be closing them,
and a request the service closed the connection on counted, not lost."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request

from efrikort.bench import ServiceConnection, read_response, run_http_latency
from runtime.settings import ServiceSettings
from runtime.tls import SERVER_KEEP_ALIVE_S, server_config
from tests.infra_fixtures import free_ports, uvicorn_serving

ASK = b"GET /v1/anything HTTP/1.1\r\nHost: bench\r\n\r\n"


def local_port(connection: ServiceConnection) -> int:
    """Which connection carried the last request."""
    assert connection.streams is not None
    return int(connection.streams[1].get_extra_info("sockname")[1])


async def test_a_connection_in_use_is_kept_and_one_left_idle_past_the_services_keep_alive_is_opened_anew() -> None:
    app = FastAPI()

    @app.get("/v1/anything")
    async def anything() -> dict[str, str]:
        return {}

    [http_port] = free_ports(1)
    config = server_config(app, ServiceSettings(service_name="bench-http-test", http_port=http_port))
    connection = ServiceConnection("127.0.0.1", http_port)

    async with uvicorn_serving(config):
        try:
            assert await connection.exchange(ASK) == 200
            first = local_port(connection)
            assert await connection.exchange(ASK) == 200
            assert local_port(connection) == first, "a connection in use is kept"

            await asyncio.sleep(SERVER_KEEP_ALIVE_S + 0.5)  # the service has let go of its end by now

            assert await connection.exchange(ASK) == 200, "a request after a pause longer than the keep-alive"
            assert local_port(connection) != first
        finally:
            connection.close()


async def test_at_a_low_rate_one_connection_carries_the_requests_as_a_clients_would() -> None:
    app = FastAPI()
    came_from: list[int] = []

    @app.post("/v1/fees")
    async def fees(request: Request) -> dict[str, str]:
        assert request.client is not None
        came_from.append(request.client.port)
        return {}

    [http_port] = free_ports(1)
    config = server_config(app, ServiceSettings(service_name="bench-http-test", http_port=http_port))
    async with uvicorn_serving(config):
        result = await run_http_latency(f"http://127.0.0.1:{http_port}", requests=6, rate=20, patients=10, seed=1)

    assert len(result.latencies_ms) == 6
    assert len(set(came_from)) == 1, "each request went out on a connection of its own"


async def test_a_connection_the_service_closed_without_answering_is_named_as_such() -> None:
    async def read_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(read_and_close, "127.0.0.1", 0)
    connection = ServiceConnection("127.0.0.1", server.sockets[0].getsockname()[1])
    try:
        with pytest.raises(ConnectionError, match="closed the connection without answering"):
            await connection.exchange(ASK)
        assert connection.streams is None, "the closed connection is not used again"
    finally:
        connection.close()
        server.close()


async def test_an_answer_is_read_whole_and_its_status_returned() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"HTTP/1.1 422 Unprocessable Content\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n")
    assert await read_response(reader) == 422
    assert await reader.readline() == b"HTTP/1.1 200 OK\r\n", "the body was read, and nothing past it"
