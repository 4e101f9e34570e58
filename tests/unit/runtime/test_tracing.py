"""Tracing is off without an endpoint (no tracer, the messages untouched) and, on, writes the W3C context
of each message's cause into its outbox headers."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanContext, TraceFlags

from runtime import tracing
from runtime.consumers import Delivery
from runtime.outbox import OutboxMessage
from runtime.settings import ServiceSettings

CAUSE = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, False, TraceFlags(1))


def message(**headers: str) -> OutboxMessage:
    return OutboxMessage("efrikort.fees.v1", b"patient-key", b"{}", {"event_type": "FeeRegistered", **headers})


def test_without_an_endpoint_there_is_no_tracing_and_nothing_is_added(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("EFRIKORT_OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.setattr(tracing, "_enabled", False)
    assert tracing.tracing_for(ServiceSettings()) is None
    assert tracing.handling(None, "t", []) is tracing.handling(None, "u", [])  # one shared no-op, nothing made
    messages = [message()]
    assert tracing.with_trace_context(messages) is messages


def test_the_standard_otel_variable_configures_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert ServiceSettings().otel_exporter_otlp_endpoint == "http://collector:4318"
    monkeypatch.setenv("EFRIKORT_OTEL_EXPORTER_OTLP_ENDPOINT", "http://ours:4318")
    assert ServiceSettings().otel_exporter_otlp_endpoint == "http://ours:4318"


def test_a_message_gets_the_traceparent_of_the_message_that_caused_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_enabled", True)
    token = tracing._handled.set({"event-1": CAUSE})
    try:
        caused, unrelated = tracing.with_trace_context(
            [message(causation_id="event-1", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"), message()]
        )
    finally:
        tracing._handled.reset(token)
    assert caused.headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert caused.headers["event_type"] == "FeeRegistered"
    assert "traceparent" not in unrelated.headers  # no span current, nothing caused it: no trace to join


def test_a_consumer_span_continues_the_producers_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(tracing, "_enabled", True)
    delivery = Delivery(
        "efrikort.fees.v1",
        3,
        42,
        b"k",
        b"{}",
        {"event_id": "e-1", "traceparent": f"00-{CAUSE.trace_id:032x}-{CAUSE.span_id:016x}-01"},
    )
    with tracing.handling(tracing.Tracing(provider), delivery.topic, [delivery]):
        [written] = tracing.with_trace_context([message(causation_id="e-1")])
    [span] = exported.get_finished_spans()
    assert span.context.trace_id == CAUSE.trace_id and span.parent is not None and span.parent.span_id == CAUSE.span_id
    assert written.headers["traceparent"] == f"00-{CAUSE.trace_id:032x}-{span.context.span_id:016x}-01"
    assert span.attributes is not None and span.attributes["messaging.kafka.offset"] == 42


async def test_a_request_is_a_server_span_named_by_its_route_continuing_the_callers_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(tracing, "_enabled", True)
    written: list[OutboxMessage] = []
    app = FastAPI()

    @app.post("/v1/notices/{notice_id}/resend")
    async def resend(notice_id: str) -> dict[str, str]:
        written.extend(tracing.with_trace_context([message()]))
        return {}

    app.add_middleware(tracing.TracingMiddleware, tracer=provider.get_tracer("test"))
    caller = f"00-{CAUSE.trace_id:032x}-{CAUSE.span_id:016x}-01"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.post("/v1/notices/n-123/resend", headers={"traceparent": caller})
    assert answer.status_code == 200
    [span] = exported.get_finished_spans()
    assert span.name == "POST /v1/notices/{notice_id}/resend"  # the template: a path may hold an id
    assert span.context.trace_id == CAUSE.trace_id
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 200
    assert "n-123" not in str(dict(span.attributes))
    assert written[0].headers["traceparent"] == f"00-{CAUSE.trace_id:032x}-{span.context.span_id:016x}-01"
