"""OpenTelemetry traces that follow one fee across services, through Kafka's message headers.

A service exports spans over OTLP/HTTP (protobuf) when `otel_exporter_otlp_endpoint` is set
(`EFRIKORT_OTEL_EXPORTER_OTLP_ENDPOINT`, or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`); unset, it
makes no tracer, installs no middleware and touches no message.

- Each HTTP request is a server span (`TracingMiddleware`), continuing a caller's `traceparent`.
- Each message handled is a consumer span (`handling`), a child of the context its producer wrote
  into the message's `traceparent` header.
- What a request or a message causes carries the span's context on to Kafka: `with_trace_context`
  adds `traceparent` (W3C Trace Context) to the headers of each outbox row as it is written, and the
  relay publishes the row's headers as they are.

Span attributes name topics, partitions, offsets, event ids and route templates: never an identity
number, a patient key or anything else a message or a request carries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.settings import ServiceSettings

if TYPE_CHECKING:
    from runtime.consumers import Delivery
    from runtime.outbox import OutboxMessage

W3C = TraceContextTextMapPropagator()
TRACE_HEADERS = ("traceparent", "tracestate")

_enabled = False
"""Some runtime in this process traces: only then are outbox rows given a `traceparent`."""
_handled: ContextVar[Mapping[str, SpanContext]] = ContextVar("handled_messages", default=MappingProxyType({}))
"""The span of each message the batch being handled holds, by message id: what a handler emits names its
cause (`causation_id`), and so finds the trace it belongs to even when a batch holds many traces."""
_NOT_TRACING: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


class Tracing:
    """A service's tracer and the provider that exports its spans."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("efrikort.runtime")

    def shutdown(self) -> None:
        """Export what is left and stop (at the service's shutdown)."""
        self.provider.shutdown()


def tracing_for(settings: ServiceSettings) -> Tracing | None:
    """The service's tracing, exporting to the configured OTLP endpoint; None when none is configured."""
    global _enabled
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"efrikort-{settings.service_name}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    _enabled = True
    return Tracing(provider)


def handling(
    tracing: Tracing | None, topic: str, deliveries: Sequence[Delivery]
) -> contextlib.AbstractContextManager[None]:
    """A consumer span for each message of a batch while the batch is handled (nothing when not tracing)."""
    return _NOT_TRACING if tracing is None else _handling(tracing.tracer, topic, deliveries)


@contextlib.contextmanager
def _handling(tracer: Tracer, topic: str, deliveries: Sequence[Delivery]) -> Iterator[None]:
    spans = [
        tracer.start_span(
            f"{topic} process",
            context=W3C.extract(delivery.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.destination.partition.id": str(delivery.partition),
                "messaging.kafka.offset": delivery.offset,
                "messaging.message.id": delivery.message_id,
                "messaging.batch.message_count": len(deliveries),
            },
        )
        for delivery in deliveries
    ]
    handled = _handled.set({d.message_id: s.get_span_context() for d, s in zip(deliveries, spans, strict=True)})
    # A batch of one (the common case at low load) makes its span current for whatever the handler calls.
    current = trace.use_span(spans[0]) if len(spans) == 1 else _NOT_TRACING
    try:
        with current:
            yield
    except BaseException as error:
        for span in spans:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        _handled.reset(handled)
        for span in spans:
            span.end()


def with_trace_context(messages: Sequence[OutboxMessage]) -> Sequence[OutboxMessage]:
    """The messages, each with the `traceparent` of what caused it: the span of the message it names as its
    cause (`causation_id`), else the current span (the HTTP request's). Untouched when nothing traces."""
    if not _enabled:
        return messages
    handled = _handled.get()
    current = trace.get_current_span().get_span_context()
    return [_traced(message, handled.get(message.headers.get("causation_id", ""), current)) for message in messages]


def _traced(message: OutboxMessage, cause: SpanContext) -> OutboxMessage:
    if not cause.is_valid:
        return message
    carrier: dict[str, str] = {}
    W3C.inject(carrier, context=trace.set_span_in_context(NonRecordingSpan(cause), Context()))
    kept = {name: value for name, value in message.headers.items() if name not in TRACE_HEADERS}
    return type(message)(message.topic, message.key, message.value, {**kept, **carrier})


class TracingMiddleware:
    """A server span for each HTTP request, named by its method and route template (never its path,
    which may hold ids), continuing the caller's `traceparent`."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())}
        method = scope.get("method", "")
        status: dict[str, Any] = {}

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            f"{method} request", context=W3C.extract(carrier), kind=SpanKind.SERVER, record_exception=True
        ) as span:
            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.request.method", method)
                if "code" in status:
                    span.set_attribute("http.response.status_code", status["code"])
                    if status["code"] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
