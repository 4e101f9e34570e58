"""Logs are one JSON object per line, carrying the correlation id of the work being done."""

import json
import logging

from runtime.logs import JsonFormatter, correlation_id


def record(message: str, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("efrikort.test", logging.WARNING, __file__, 1, message, (), None)
    entry.__dict__.update(extra)
    return entry


def test_a_log_line_is_json_with_service_level_and_message() -> None:
    line = json.loads(JsonFormatter("protection").format(record("ledger replayed")))
    assert line["service"] == "protection"
    assert line["level"] == "WARNING"
    assert line["message"] == "ledger replayed"
    assert "correlation_id" not in line


def test_the_correlation_id_of_the_message_being_handled_is_on_every_line() -> None:
    token = correlation_id.set("corr-42")
    try:
        line = json.loads(JsonFormatter("registration").format(record("x", topic="t", partition=3, offset=9)))
    finally:
        correlation_id.reset(token)
    assert line["correlation_id"] == "corr-42"
    assert (line["topic"], line["partition"], line["offset"]) == ("t", 3, 9)
