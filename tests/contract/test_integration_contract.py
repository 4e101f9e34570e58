"""The integration contract and messaging conventions exactly as DESIGN.md states them.

Outside systems are built against these field names and shapes; a failure here means an integrated
journal or cash system would break.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.events import ALL_EVENTS, FeeRegistered, FreeCardIssued
from contracts.integration import (
    FeeOutcome,
    FeeSource,
    FeeSubmission,
    FreeCardStatus,
    OutcomeStatus,
    RejectionReason,
)
from contracts.topics import (
    CATALOGUE,
    FEES,
    FREE_CARDS,
    PATIENT_PARTITIONS,
    SYSTEM_FEE_OUTCOMES,
    SYSTEM_FEE_SUBMISSIONS,
)

SAMPLE_SUBMISSION: dict[str, Any] = {
    "submission_id": "3f2c0a5e-7d2b-4c1e-9a8f-1b2c3d4e5f60",
    "system_id": "SE2321000016-SYS1",
    "patient_id": "19850412-1230",
    "visit_date": "2025-04-25",
    "care_unit": "SE2321000016-U001",
    "registered_by": "SE2321000016-E001",
    "fee_type": "doctor_visit",
    "fee_amount": 300,
    "paid_amount": 300,
    "source": "visit",
}

SAMPLE_OUTCOME: dict[str, Any] = {
    "submission_id": "3f2c0a5e-7d2b-4c1e-9a8f-1b2c3d4e5f60",
    "status": "accepted",
    "fee_id": "0b8f6d2e-9c1a-4f3b-8e7d-2a5c4b3d1e0f",
    "amount_due": 150,
    "counted_amount": 150,
    "protection": {
        "period_start": "2025-04-25",
        "ceiling": 1450,
        "sum": 1450,
        "remaining": 0,
        "free_card": {"number": "FK-1", "valid_from": "2025-10-10", "valid_to": "2026-04-24", "status": "preliminary"},
    },
}

ENVELOPE_FIELDS = {
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "producer",
    "correlation_id",
    "causation_id",
    "payload",
}


def _submission(**changes: Any) -> bytes:
    return json.dumps(SAMPLE_SUBMISSION | changes).encode()


# --- submission ---------------------------------------------------------------------------------


def test_the_sample_submission_parses_with_exactly_the_contract_field_names() -> None:
    submission = FeeSubmission.model_validate_json(json.dumps(SAMPLE_SUBMISSION))
    # receipt_issuer is the one contract field the sample leaves out (it comes with source=receipt).
    assert set(FeeSubmission.model_fields) == set(SAMPLE_SUBMISSION) | {"receipt_issuer"}
    assert submission.model_dump(mode="json", exclude={"receipt_issuer"}) == SAMPLE_SUBMISSION
    assert submission.visit_date == date(2025, 4, 25)
    assert submission.fee_amount == 300
    assert submission.source is FeeSource.VISIT


def test_a_receipt_submission_names_its_issuer() -> None:
    submission = FeeSubmission.model_validate_json(_submission(source="receipt", receipt_issuer="Region Skåne"))
    assert submission.source is FeeSource.RECEIPT
    assert submission.receipt_issuer == "Region Skåne"


def test_paid_amount_may_be_absent() -> None:
    without = {key: value for key, value in SAMPLE_SUBMISSION.items() if key != "paid_amount"}
    assert FeeSubmission.model_validate_json(json.dumps(without)).paid_amount is None


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        FeeSubmission.model_validate_json(_submission(patient_name="Tolvan Tolvansson"))
    assert [(e["type"], e["loc"]) for e in error.value.errors()] == [("extra_forbidden", ("patient_name",))]


@pytest.mark.parametrize("amount", ["300", 300.5, 300.0, True, None])
def test_fee_amount_must_be_a_whole_number_of_kronor(amount: object) -> None:
    with pytest.raises(ValidationError) as error:
        FeeSubmission.model_validate_json(_submission(fee_amount=amount))
    assert {e["loc"] for e in error.value.errors()} == {("fee_amount",)}


@pytest.mark.parametrize("amount", ["300", 300.5])
def test_paid_amount_is_strict_too(amount: object) -> None:
    with pytest.raises(ValidationError):
        FeeSubmission.model_validate_json(_submission(paid_amount=amount))


@pytest.mark.parametrize("field", ["submission_id", "patient_id", "visit_date", "fee_amount"])
def test_required_fields_must_be_present(field: str) -> None:
    without = {key: value for key, value in SAMPLE_SUBMISSION.items() if key != field}
    with pytest.raises(ValidationError) as error:
        FeeSubmission.model_validate_json(json.dumps(without))
    assert [(e["type"], e["loc"]) for e in error.value.errors()] == [("missing", (field,))]


def test_the_system_may_be_left_out_since_the_topic_names_it() -> None:
    without = {key: value for key, value in SAMPLE_SUBMISSION.items() if key != "system_id"}
    assert FeeSubmission.model_validate_json(json.dumps(without)).system_id is None


# --- outcome ------------------------------------------------------------------------------------


def test_the_sample_outcome_serialises_back_to_the_same_json() -> None:
    outcome = FeeOutcome.model_validate(SAMPLE_OUTCOME)
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert outcome.protection is not None and outcome.protection.free_card is not None
    assert outcome.protection.free_card.status is FreeCardStatus.PRELIMINARY
    assert json.loads(outcome.to_json()) == SAMPLE_OUTCOME


def test_absent_values_are_left_out_not_null() -> None:
    outcome = FeeOutcome(submission_id="s-1", status=OutcomeStatus.ACCEPTED, amount_due=0)
    assert json.loads(outcome.to_json()) == {"submission_id": "s-1", "status": "accepted", "amount_due": 0}


def test_a_rejected_outcome_carries_reasons_with_code_field_and_message() -> None:
    outcome = FeeOutcome.rejected(
        "3f2c0a5e-7d2b-4c1e-9a8f-1b2c3d4e5f60",
        [
            RejectionReason(code="invalid_patient_id", field="patient_id", message="Ogiltigt personnummer."),
            RejectionReason(code="unknown_care_unit", field="care_unit", message="Okänd vårdenhet."),
        ],
    )
    assert json.loads(outcome.to_json()) == {
        "submission_id": "3f2c0a5e-7d2b-4c1e-9a8f-1b2c3d4e5f60",
        "status": "rejected",
        "reasons": [
            {"code": "invalid_patient_id", "field": "patient_id", "message": "Ogiltigt personnummer."},
            {"code": "unknown_care_unit", "field": "care_unit", "message": "Okänd vårdenhet."},
        ],
    }


def test_outcome_json_is_utf8() -> None:
    outcome = FeeOutcome.rejected("s", [RejectionReason(code="c", field="f", message="Okänd vårdenhet.")])
    assert "Okänd vårdenhet." in outcome.to_json().decode("utf-8")


# --- envelope -----------------------------------------------------------------------------------


def _fee_registered() -> FeeRegistered:
    return FeeRegistered(
        fee_id=uuid4(),
        version=1,
        submission_id=SAMPLE_SUBMISSION["submission_id"],
        system_id=SAMPLE_SUBMISSION["system_id"],
        patient_key="k1:5d41402abc4b2a76b9719d911017c592",
        birth_date=date(1985, 4, 12),
        visit_date=date(2025, 4, 25),
        care_unit=SAMPLE_SUBMISSION["care_unit"],
        registered_by=SAMPLE_SUBMISSION["registered_by"],
        fee_type="doctor_visit",
        fee_amount=300,
        paid_amount=300,
        source=FeeSource.VISIT,
        registered_at=datetime(2025, 4, 25, 9, 30, tzinfo=UTC),
    )


def _free_card_issued() -> FreeCardIssued:
    return FreeCardIssued(
        patient_key="k1:5d41402abc4b2a76b9719d911017c592",
        number="FK-1",
        valid_from=date(2025, 10, 10),
        valid_to=date(2026, 4, 24),
        status=FreeCardStatus.PRELIMINARY,
        period_start=date(2025, 4, 25),
        ceiling=1450,
    )


@pytest.mark.parametrize("make_event", [_fee_registered, _free_card_issued], ids=["FeeRegistered", "FreeCardIssued"])
def test_the_envelope_round_trips_with_exactly_the_design_fields(make_event: Any) -> None:
    event = make_event()
    envelope = Envelope.wrap(event, producer="registration", correlation_id="corr-1", causation_id="cause-1")
    wire = envelope.model_dump_json()

    assert set(json.loads(wire)) == ENVELOPE_FIELDS
    assert set(Envelope.model_fields) == ENVELOPE_FIELDS
    received = Envelope[type(event)].model_validate_json(wire)  # type: ignore[misc]
    assert received == envelope
    assert received.payload == event
    assert received.event_type == type(event).event_type == type(event).__name__
    assert received.schema_version == 1
    assert received.causation_id == "cause-1"


def test_an_envelope_consumer_ignores_fields_it_does_not_know() -> None:
    envelope = Envelope.wrap(_free_card_issued(), producer="protection", correlation_id="corr-1")
    wire = json.loads(envelope.model_dump_json())
    wire["added_later"] = 1
    wire["payload"]["also_added_later"] = "x"
    assert Envelope[FreeCardIssued].model_validate(wire) == envelope


PATIENT_TOPICS = [topic for topic in CATALOGUE if topic.key == "patient_key"]


def test_internal_events_carry_the_patient_key_never_the_identity_number() -> None:
    for event in ALL_EVENTS:
        assert "patient_id" not in event.model_fields, event.__name__


def test_every_event_on_a_patient_stream_carries_the_patient_key() -> None:
    by_type = {event.event_type: event for event in ALL_EVENTS}
    for topic in PATIENT_TOPICS:
        for name in topic.messages:
            assert "patient_key" in by_type[name].model_fields, f"{topic.name}: {name}"


# --- topics -------------------------------------------------------------------------------------


def test_topic_names_follow_the_convention() -> None:
    for topic in CATALOGUE:
        assert re.fullmatch(r"efrikort\.[a-z0-9]+(-[a-z0-9]+)*\.v[1-9][0-9]*", topic.name), topic.name
        assert topic.dead_letter.name == f"{topic.name}.dlq"
    assert len({topic.name for topic in CATALOGUE}) == len(CATALOGUE)


def test_the_integration_topics_are_the_ones_design_names() -> None:
    assert (
        SYSTEM_FEE_SUBMISSIONS.of("SE2321000016-SYS1").name == "efrikort.systems.SE2321000016-SYS1.fee-submissions.v1"
    )
    assert SYSTEM_FEE_OUTCOMES.of("SE2321000016-SYS1").name == "efrikort.systems.SE2321000016-SYS1.fee-outcomes.v1"
    names = {topic.name for topic in CATALOGUE}
    assert not {"efrikort.fee-submissions.v1", "efrikort.fee-outcomes.v1"} & names, "no topic is shared by systems"


def test_a_system_topic_names_its_system_and_nothing_else_passes_for_one() -> None:
    topic = SYSTEM_FEE_SUBMISSIONS.of("SE2321000016-SYS1")
    assert SYSTEM_FEE_SUBMISSIONS.system_of(topic.name) == "SE2321000016-SYS1"
    assert SYSTEM_FEE_SUBMISSIONS.system_of(topic.dead_letter.name) is None
    assert SYSTEM_FEE_SUBMISSIONS.system_of(SYSTEM_FEE_OUTCOMES.of("SE2321000016-SYS1").name) is None
    assert SYSTEM_FEE_SUBMISSIONS.system_of("efrikort.systems.a.b.fee-submissions.v1") is None
    with pytest.raises(ValueError):
        SYSTEM_FEE_SUBMISSIONS.of("SE2321000016-SYS1.fee-outcomes.v1.x")


def test_patient_topics_have_twelve_partitions_and_are_keyed_by_the_patient_key() -> None:
    patient_topics = [topic for topic in CATALOGUE if topic.key == "patient_key"]
    assert FEES in patient_topics and FREE_CARDS in patient_topics
    assert PATIENT_PARTITIONS == 12
    for topic in patient_topics:
        assert topic.partitions == 12, topic.name
