"""Correlation over HTTP: a request's `X-Correlation-ID` (or one made for it) is in every log line of
the request and in the envelope of every event the request causes; no two requests share a made-up one."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from runtime.logs import JsonFormatter
from tests.integration.runtime.harness import TinyService
from tests.kafka_clients import reading

pytestmark = pytest.mark.integration


class JsonLines(logging.Handler):
    """The service's log lines as the JSON formatter writes them."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("rt-test"))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[JsonLines]:
    handler = JsonLines()
    logger = logging.getLogger("tests.integration.runtime.harness")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_a_callers_correlation_id_is_in_the_log_and_the_events_and_the_answer(
    infra: InfraEndpoints, service: TinyService, http: httpx.AsyncClient, log_lines: JsonLines
) -> None:
    message_id = f"m-{uuid.uuid4().hex}"
    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        answer = await http.post(f"/notes/{message_id}", headers={"X-Correlation-ID": "desk-req-42"})
        [record] = await out.wait_for(lambda r: r.key == message_id.encode())

    assert answer.status_code == 200
    assert answer.headers["X-Correlation-ID"] == "desk-req-42"
    assert json.loads(record.value)["correlation_id"] == "desk-req-42"
    [line] = [line for line in log_lines.lines if message_id in str(line["message"])]
    assert line["correlation_id"] == "desk-req-42"


async def test_without_one_each_request_gets_a_correlation_id_of_its_own(
    infra: InfraEndpoints, service: TinyService, http: httpx.AsyncClient
) -> None:
    first, second = f"m-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    async with reading(infra.kafka_bootstrap_servers, service.output.name) as out:
        answers = [await http.post(f"/notes/{first}"), await http.post(f"/notes/{second}")]
        records = [(await out.wait_for(lambda r, key=key: r.key == key.encode()))[0] for key in (first, second)]

    ids = [answer.headers["X-Correlation-ID"] for answer in answers]
    assert ids[0] != ids[1]
    assert [json.loads(r.value)["correlation_id"] for r in records] == ids


async def test_a_correlation_id_that_is_not_plainly_an_id_is_replaced(http: httpx.AsyncClient) -> None:
    answer = await http.post(f"/notes/m-{uuid.uuid4().hex}", headers={"X-Correlation-ID": "19121212-1212 <script>"})
    assert answer.headers["X-Correlation-ID"] != "19121212-1212 <script>"
    uuid.UUID(answer.headers["X-Correlation-ID"])
