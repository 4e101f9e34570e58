"""Webhooks go only where the region allows: a desk user cannot point a patient's notices at an address
of their choosing (plain HTTP, an internal service, any host off the region's list of mailboxes), and a
stored address that is not, or no longer, on the list receives nothing."""

from __future__ import annotations

import pytest

from contracts import clock
from contracts.notice_events import NoticeChannel, PatientContactDetails
from contracts.topics import FREE_CARDS, PATIENT_CONTACTS
from tests.integration.notifications.conftest import CLERK, NotificationsUnderTest, Patient
from tests.integration.notifications.test_delivery import issued
from tests.kafka_clients import eventually
from tests.notice_receivers import http_receiver


@pytest.mark.parametrize(
    "where",
    ["http://127.0.0.1:{port}/inbox", "https://internal.region.test/inbox", "https://10.1.2.3:{port}/inbox"],
)
async def test_a_webhook_url_off_the_regions_list_is_refused_naming_the_field_not_the_value(
    notifications: NotificationsUnderTest, patient: Patient, where: str
) -> None:
    url = where.format(port=notifications.receiver.port)
    answer = await notifications.http.put(
        "/v1/patients/contact",
        json={"patient_id": patient.identity_number, "channel": "webhook", "webhook_url": url},
        headers=CLERK,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "webhook_url"
    assert url not in answer.text and "internal.region.test" not in answer.text
    assert (
        await notifications.db.fetch(
            f"SELECT 1 FROM {notifications.name}.patient_contacts WHERE patient_key = $1", patient.key
        )
        == []
    )


async def test_a_stored_webhook_url_off_the_list_gets_no_notice_and_operators_see_a_fixed_reason(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    # Details from before the list, as another instance might have published them: plain HTTP to a mailbox.
    with http_receiver("anyone") as plain_target:
        target = plain_target.url("/grab").replace("https://", "http://")
        await notifications.publish(
            PATIENT_CONTACTS,
            patient.key,
            PatientContactDetails(
                patient_key=patient.key,
                channel=NoticeChannel.WEBHOOK,
                webhook_url=target,
                changed_at=clock.now(),
                changed_by="SE2321000016-E9N2",
            ),
        )

        async def taken_up() -> bool:
            stored = await notifications.db.fetchval(
                f"SELECT webhook_url FROM {notifications.name}.patient_contacts WHERE patient_key = $1", patient.key
            )
            return stored == target

        assert await eventually(taken_up, timeout=30)
        await notifications.publish(FREE_CARDS, patient.key, issued(patient))
        [failed] = await notifications.wait_for_notices(patient, "failed")
        assert plain_target.received == []
    assert failed["attempts"] == 1
    assert failed["last_error"] == ("webhook: the patient's webhook_url must be an https URL")
