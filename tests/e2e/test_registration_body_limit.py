"""A fee registered over HTTP is at most `MAX_SUBMISSION_BYTES`: a larger body is refused 413 without the
service reading it all, whether its length is declared or it comes in chunks with no end in sight."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from contracts.integration import MAX_SUBMISSION_BYTES
from efrikort.services import ServiceProcess
from tests.e2e.registration_actors import Directory

pytestmark = pytest.mark.e2e


async def refusal_while_sending(registration: ServiceProcess, caller: str, head: str, parts: list[bytes]) -> bytes:
    """Send the request head and the given parts of a body that never ends, and return the answer's head."""
    url = httpx.URL(registration.url)
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(
            f"POST /v1/fees HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/json\r\n"
            f"X-HSA-ID: {caller}\r\n{head}\r\n".encode()
        )
        for part in parts:
            writer.write(part)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    finally:
        writer.close()


def answered_status(answer_head: bytes) -> int:
    return int(answer_head.split(b" ", 2)[1])


async def test_a_body_declared_larger_than_a_submission_is_refused_before_it_is_read(
    services: dict[str, ServiceProcess], directory: Directory
) -> None:
    answer = await refusal_while_sending(
        services["registration"], directory.user, "Content-Length: 100000000\r\n", [b'{"submission_id": "big"']
    )
    assert answered_status(answer) == 413


async def test_a_chunked_body_is_refused_once_it_passes_the_limit_without_waiting_for_its_end(
    services: dict[str, ServiceProcess], directory: Directory
) -> None:
    chunk = json.dumps({"note": "x" * 4000}).encode()
    chunks = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(MAX_SUBMISSION_BYTES // len(chunk) + 2)]

    answer = await refusal_while_sending(
        services["registration"], directory.user, "Transfer-Encoding: chunked\r\n", chunks
    )

    assert answered_status(answer) == 413
