"""A patient's exit, as notifications obeys it: the contact details removed and tombstoned on their
compacted topic, and events in flight at the exit (a free card, contact details) ignored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.access_events import PatientExited
from contracts.envelope import Envelope
from contracts.events import FreeCardIssued
from contracts.integration import FreeCardStatus
from contracts.notice_events import NoticeChannel, PatientContactDetails
from contracts.topics import FREE_CARDS, PATIENT_CONTACTS, PATIENT_MEMBERSHIP
from tests.integration.notifications.conftest import FREE_CARD_FROM, FREE_CARD_TO, NotificationsUnderTest, Patient
from tests.kafka_clients import eventually, reading


async def rows_about(notifications: NotificationsUnderTest, patient: Patient) -> dict[str, int]:
    """Rows with the patient's key in every table of the service's schema but the exit register."""
    found: dict[str, int] = {}
    for table in await notifications.db.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'patient_key' "
        "AND table_name <> 'exited_patients'",
        notifications.name,
    ):
        name = f'"{notifications.name}"."{table["table_name"]}"'
        if count := await notifications.db.fetchval(f"SELECT count(*) FROM {name} WHERE patient_key = $1", patient.key):
            found[name] = count
    return found


async def taken_in(notifications: NotificationsUnderTest, envelope: Envelope[object]) -> bool:
    return bool(
        await notifications.db.fetchval(
            f"SELECT 1 FROM {notifications.name}.inbox WHERE message_id = $1", str(envelope.event_id)
        )
    )


async def test_an_exit_removes_and_tombstones_the_contact_details_and_ignores_what_was_in_flight(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    async with reading(notifications.bootstrap, PATIENT_CONTACTS.name) as contacts:
        await notifications.set_contact(patient, channel="email", email="asa@example.se", name="Åsa Ek")
        await contacts.wait_for(lambda r: r.key == patient.key.encode() and r.value is not None)

        exit_ = await notifications.publish(
            PATIENT_MEMBERSHIP,
            patient.key,
            PatientExited(patient_key=patient.key, requested_by="SE2321000016-E004", exited_at=datetime.now(UTC)),
        )
        # The session's other notifications (the e2e stack's) obey the same exit on the same topic: the
        # tombstone looked for is the one of the instance under test.
        [tombstone] = await contacts.wait_for(
            lambda r: (
                r.key == patient.key.encode()
                and r.value is None
                and dict(r.headers).get("producer") == notifications.name.encode()
            )
        )
    assert tombstone.value is None
    assert await eventually(lambda: taken_in(notifications, exit_), timeout=30)
    assert await rows_about(notifications, patient) == {}

    # Sent before the exit, read after it: a free card and the details again. Nothing comes of either.
    card = await notifications.publish(
        FREE_CARDS,
        patient.key,
        FreeCardIssued(
            patient_key=patient.key,
            number=f"FK-{uuid.uuid4().hex[:8]}",
            valid_from=FREE_CARD_FROM,
            valid_to=FREE_CARD_TO,
            status=FreeCardStatus.PRELIMINARY,
            period_start=FREE_CARD_FROM,
            ceiling=1450,
        ),
    )
    details = await notifications.publish(
        PATIENT_CONTACTS,
        patient.key,
        PatientContactDetails(
            patient_key=patient.key,
            channel=NoticeChannel.LETTER,
            postal_address=["Box 1"],
            changed_at=datetime.now(UTC),
            changed_by="SE2321000016-E001",
        ),
    )
    for envelope in (card, details):
        assert await eventually(lambda e=envelope: taken_in(notifications, e), timeout=30)
    assert await rows_about(notifications, patient) == {}
