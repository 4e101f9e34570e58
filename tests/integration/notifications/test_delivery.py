"""Notices reach a real mail server, a real HTTP mailbox and the print-batch folder, exactly once per
event, with retries for a failing channel and a failed state an operator can act on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import uuid
from datetime import UTC, date, datetime

import pypdf

from contracts.events import (
    FreeCardIssued,
    FreeCardMoved,
    FreeCardRevoked,
    OverchargeFound,
    OverchargeRefunded,
    PatientStatusChanged,
)
from contracts.integration import FreeCardStatus
from contracts.topics import FREE_CARDS, OVERCHARGES, PATIENT_STATUS
from tests.integration.notifications.conftest import (
    CLOSE_TO_CEILING_KRONOR,
    FREE_CARD_FROM,
    FREE_CARD_TO,
    MAX_ATTEMPTS,
    OPERATOR,
    WEBHOOK_SECRET,
    NotificationsUnderTest,
    Patient,
)
from tests.integration.runtime.harness import metric
from tests.kafka_clients import eventually
from tests.submissions import new_patient

PERIOD_START = date(2025, 4, 25)


def issued(patient: Patient, number: str = "FK-2025-000777") -> FreeCardIssued:
    return FreeCardIssued(
        patient_key=patient.key,
        number=number,
        valid_from=FREE_CARD_FROM,
        valid_to=FREE_CARD_TO,
        status=FreeCardStatus.PRELIMINARY,
        period_start=PERIOD_START,
        ceiling=1450,
    )


async def test_a_free_card_notice_arrives_by_email_once_even_when_the_event_is_redelivered(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    address = f"{uuid.uuid4().hex[:8]}@patient.test"
    await notifications.set_contact(patient, channel="email", email=address, name="Åsa Öberg")
    envelope = await notifications.publish(FREE_CARDS, patient.key, issued(patient))

    [message] = await eventually(lambda: _async(notifications.mail.to(address)), timeout=30)
    assert message["Subject"] == "Du har fått frikort"
    assert message["From"] == "Region Test <frikort@region.test>"
    [sent] = await notifications.wait_for_notices(patient, "sent")
    assert message["Message-ID"] == f"<efrikort-notice-{sent['id']}@efrikort.invalid>"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hej Åsa Öberg!" in text
    assert "FK-2025-000777" in text and "2025-08-23" in text and "2026-04-24" in text
    assert "Region Testland" in text and "010-000 00 00" in text
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "<strong>FK-2025-000777</strong>" in html

    # The same event again, as Kafka redelivers it: nothing new is recorded or sent.
    await notifications.publish(FREE_CARDS, patient.key, envelope)
    await asyncio.sleep(3)
    assert len(notifications.mail.to(address)) == 1
    assert [n["state"] for n in await notifications.notices_of(patient)] == ["sent"]


async def test_a_mailbox_that_fails_three_times_and_then_succeeds_gets_exactly_one_notice(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    path = f"/inbox/{uuid.uuid4().hex}"
    notifications.receiver.fail_first[path] = 3
    retried_before = await metric(notifications.http, "efrikort_notice_attempts_failed_total", channel="webhook")
    await notifications.set_contact(
        patient, channel="webhook", webhook_url=notifications.receiver.url(path), language="en"
    )
    await notifications.publish(FREE_CARDS, patient.key, issued(patient))

    [sent] = await notifications.wait_for_notices(patient, "sent")
    await asyncio.sleep(3)  # long enough for a wrong second delivery to show
    tries = notifications.receiver.at(path)
    assert [t.answered for t in tries] == [503, 503, 503, 200]
    [delivered] = notifications.receiver.delivered(path)
    assert sent["attempts"] == 4
    assert {t.headers["Idempotency-Key"] for t in tries} == {f"efrikort-notice-{sent['id']}"}
    retried = await metric(notifications.http, "efrikort_notice_attempts_failed_total", channel="webhook")
    assert retried - retried_before >= 3

    body = delivered.json()
    assert body["subject"] == "You have been given a free card"
    assert body["patient_key"] == patient.key
    assert "FK-2025-000777" in body["text"] and "2025-08-23" in body["text"]
    timestamp = delivered.headers["X-Efrikort-Timestamp"]
    expected = hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + delivered.body, hashlib.sha256)
    assert delivered.headers["X-Efrikort-Signature"] == f"sha256={expected.hexdigest()}"


async def test_the_tries_of_a_failing_channel_wait_longer_each_time(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    path = f"/inbox/{uuid.uuid4().hex}"
    notifications.receiver.fail_first[path] = 3
    await notifications.set_contact(patient, channel="webhook", webhook_url=notifications.receiver.url(path))
    await notifications.publish(FREE_CARDS, patient.key, issued(patient))
    await notifications.wait_for_notices(patient, "sent")
    tries = notifications.receiver.at(path)
    waits = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    # Back-off 0.2 s, 0.4 s, 0.8 s: each wait at least its step of the schedule. No upper bound: a busy
    # machine may add any delay, and that is no fault of the schedule.
    assert len(waits) == 3
    assert waits[0] >= 0.2
    assert waits[1] >= 0.4
    assert waits[2] >= 0.8


async def test_a_notice_fails_after_its_attempts_is_listed_for_operators_and_can_be_sent_again(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    path = f"/inbox/{uuid.uuid4().hex}"
    notifications.receiver.fail_first[path] = 1000
    failed_before = await metric(
        notifications.http, "efrikort_notices_failed_total", kind="free_card_issued", channel="webhook"
    )
    await notifications.set_contact(patient, channel="webhook", webhook_url=notifications.receiver.url(path))
    await notifications.publish(FREE_CARDS, patient.key, issued(patient))

    [failed] = await notifications.wait_for_notices(patient, "failed")
    assert failed["attempts"] == MAX_ATTEMPTS
    assert failed["last_error"] == "webhook answered HTTP 503"
    assert len(notifications.receiver.at(path)) == MAX_ATTEMPTS
    assert (
        await metric(notifications.http, "efrikort_notices_failed_total", kind="free_card_issued", channel="webhook")
        == failed_before + 1
    )

    operator = OPERATOR
    listed = (
        await notifications.http.get("/v1/notices", params={"state": "failed", "limit": 1000}, headers=operator)
    ).json()
    [mine] = [n for n in listed if n["id"] == failed["id"]]
    assert mine["kind"] == "free_card_issued" and mine["channel"] == "webhook" and mine["attempts"] == MAX_ATTEMPTS

    notifications.receiver.fail_first[path] = 0
    resent = await notifications.http.post(f"/v1/notices/{failed['id']}/resend", headers=operator)
    assert resent.status_code == 202, resent.text
    assert resent.json()["state"] == "pending"
    await notifications.wait_for_notices(patient, "sent")
    await asyncio.sleep(2)
    assert len(notifications.receiver.delivered(path)) == 1

    again = await notifications.http.post(f"/v1/notices/{failed['id']}/resend", headers=operator)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert (await notifications.http.post("/v1/notices/999999999/resend", headers=operator)).status_code == 404


async def test_a_letter_goes_to_the_print_batch_with_the_free_cards_number_and_dates(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    await notifications.set_contact(
        patient, channel="letter", name="Örjan Ådahl", postal_address=["Storgatan 1", "582 22 Linköping"]
    )
    await notifications.publish(FREE_CARDS, patient.key, issued(patient, number="FK-2025-004242"))
    [sent] = await notifications.wait_for_notices(patient, "sent")
    [letter] = await asyncio.to_thread(lambda: list(notifications.letters.glob(f"*/efrikort-notice-{sent['id']}.pdf")))
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(letter.read_bytes())).pages)
    assert "FK-2025-004242" in text
    assert "2025-08-23" in text and "2026-04-24" in text
    assert "Örjan Ådahl" in text and "582 22 Linköping" in text


async def test_a_patient_without_contact_details_gets_a_letter_which_fails_for_want_of_an_address(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    await notifications.publish(FREE_CARDS, patient.key, issued(patient))
    [failed] = await notifications.wait_for_notices(patient, "failed")
    assert failed["channel"] == "letter"
    assert failed["attempts"] == 1, "no retry can find an address"
    assert "no postal address" in failed["last_error"]


async def test_a_moved_and_a_revoked_free_card_and_an_overcharge_are_each_told_once(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    address = f"{uuid.uuid4().hex[:8]}@patient.test"
    await notifications.set_contact(patient, channel="email", email=address)
    await notifications.publish(
        FREE_CARDS,
        patient.key,
        FreeCardMoved(
            patient_key=patient.key,
            number="FK-2025-000777",
            valid_from=date(2025, 7, 1),
            valid_to=date(2026, 4, 24),
            previous_valid_from=FREE_CARD_FROM,
            previous_valid_to=FREE_CARD_TO,
            status=FreeCardStatus.PRELIMINARY,
            period_start=PERIOD_START,
            ceiling=1450,
        ),
    )
    await notifications.publish(
        OVERCHARGES,
        patient.key,
        OverchargeFound(
            overcharge_id=uuid.uuid4(),
            patient_key=patient.key,
            fee_id=uuid.uuid4(),
            care_unit="SE2321000016-U042",
            visit_date=date(2025, 7, 15),
            fee_type="doctor_visit",
            paid_amount=300,
            amount_due=0,
            amount=300,
            found_at=datetime.now(UTC),
        ),
    )
    # Not told: the unit marking it refunded.
    await notifications.publish(
        OVERCHARGES,
        patient.key,
        OverchargeRefunded(
            overcharge_id=uuid.uuid4(),
            patient_key=patient.key,
            fee_id=uuid.uuid4(),
            care_unit="SE2321000016-U042",
            amount=300,
            refunded_by="SE2321000016-E009",
            refunded_at=datetime.now(UTC),
        ),
    )
    await notifications.publish(
        FREE_CARDS,
        patient.key,
        FreeCardRevoked(
            patient_key=patient.key,
            number="FK-2025-000777",
            valid_from=date(2025, 7, 1),
            valid_to=date(2026, 4, 24),
            period_start=PERIOD_START,
        ),
    )
    await notifications.wait_for_notices(patient, "sent", count=3)
    await asyncio.sleep(2)
    by_subject = {
        m["Subject"]: m.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        for m in notifications.mail.to(address)
    }
    assert len(notifications.mail.to(address)) == 3
    moved = by_subject["Ditt frikort gäller från ett annat datum"]
    assert "2025-07-01" in moved and "2025-08-23" in moved
    overcharge = by_subject["Du har betalat för mycket och ska få pengar tillbaka"]
    assert "SE2321000016-U042" in overcharge and "300\u00a0kr" in overcharge
    revoked = by_subject["Ditt frikort gäller inte längre"]
    assert "FK-2025-000777" in revoked


async def test_close_to_the_ceiling_is_told_once_per_period(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    address = f"{uuid.uuid4().hex[:8]}@patient.test"
    await notifications.set_contact(patient, channel="email", email=address)
    period_start = date.today().replace(day=1)
    for remaining in (CLOSE_TO_CEILING_KRONOR + 50, CLOSE_TO_CEILING_KRONOR - 50, 100):
        await notifications.publish(
            PATIENT_STATUS,
            patient.key,
            PatientStatusChanged(
                patient_key=patient.key,
                as_of=date.today(),
                status=FreeCardStatus.BELOW_LIMIT,
                period_start=period_start,
                ceiling=1450,
                sum=1450 - remaining,
                remaining=remaining,
            ),
        )
    [sent] = await notifications.wait_for_notices(patient, "sent")
    await asyncio.sleep(2)
    [message] = notifications.mail.to(address)
    assert message["Subject"] == "Du är nära högkostnadstaket"
    assert "250\u00a0kr" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert sent["kind"] == "close_to_ceiling"


async def _async(value: object) -> object:
    return value


async def test_a_round_of_notices_is_recorded_on_the_pool_without_opening_connections_beyond_it(
    notifications: NotificationsUnderTest,
) -> None:
    """A round claims up to `batch_size` (20) notices and tries them at once; recording each outcome in a
    transaction of its own took 20 connections at once, half of them opened past the pool of 10 and
    closed again, each a server process started and ended."""
    patients = [Patient(new_patient()) for _ in range(60)]
    opened_before = notifications.connections.opened
    await notifications.publish_all(FREE_CARDS, [(patient.key, issued(patient)) for patient in patients])
    for patient in patients:
        [failed] = await notifications.wait_for_notices(patient, "failed")
        assert "no postal address" in failed["last_error"]
    assert notifications.connections.opened - opened_before <= 2
