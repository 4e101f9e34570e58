"""One fee followed across services: the trace a sender starts goes on through registration, Kafka and
protection (W3C `traceparent` headers), and both services export their spans of it over OTLP."""

from __future__ import annotations

import json
import secrets

import pytest

from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.kafka_clients import plain_producer, reading
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.submissions import new_patient, outcomes_topic, submission, submissions_topic

pytestmark = pytest.mark.e2e

CONSUMER = 5  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_CONSUMER


def services_in(spans: list[ReceivedSpan], trace_id: str) -> set[str]:
    return {span.service for span in spans if span.trace_id == trace_id}


async def test_a_fee_sent_with_a_traceparent_is_one_trace_through_registration_and_protection(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], otlp: OtlpReceiver
) -> None:
    trace_id, sender_span = secrets.token_hex(16), secrets.token_hex(8)
    patient = new_patient()
    fee = submission(patient_id=patient, visit_date="2025-04-25", fee_amount=300, paid_amount=300)
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic()) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(
            submissions_topic(),
            json.dumps(fee).encode(),
            key=fee["submission_id"].encode(),
            headers=[("traceparent", f"00-{trace_id}-{sender_span}-01".encode())],
        )
        await outcomes.wait_for(lambda r: r.key == fee["submission_id"].encode(), timeout=15)

    wanted = {"efrikort-registration", "efrikort-protection"}
    spans = otlp.wait_for(lambda spans: wanted <= services_in(spans, trace_id))
    assert wanted <= services_in(spans, trace_id), (
        f"{otlp.exports} exports; services seen: {services_in(spans, trace_id)}"
    )
    ours = [span for span in spans if span.trace_id == trace_id]
    # Registration's span continues the sender's; protection's continues one of registration's.
    registration = [s for s in ours if s.service == "efrikort-registration" and s.parent_span_id == sender_span]
    assert registration and registration[0].kind == CONSUMER
    protection = [s for s in ours if s.service == "efrikort-protection" and s.kind == CONSUMER]
    assert protection and protection[0].parent_span_id in {
        s.span_id for s in ours if s.service == "efrikort-registration"
    }
    # Nothing about the patient in a span: neither the identity number nor any part of it.
    assert not [s for s in ours if any(patient.replace("-", "")[2:] in str(v) for v in s.attributes.values())]
