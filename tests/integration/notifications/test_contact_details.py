"""Patients' contact details over HTTP and from the topic: validated, kept by patient key, audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.notice_events import NoticeChannel, PatientContactDetails
from contracts.topics import AUDIT, PATIENT_CONTACTS
from efrikort.infra.stack import InfraEndpoints
from efrikort.through_access import PartialExport
from tests.actors import admit
from tests.integration.notifications.conftest import CLERK, CLERK_ID, LOOKER, NotificationsUnderTest, Patient
from tests.kafka_clients import eventually, reading

LETTER = {"channel": "letter", "postal_address": ["Box 1"]}
REGION_ELSEWHERE = "Region Annan"
PROVIDER_ELSEWHERE = "SE2321000016-P004"
UNIT_ELSEWHERE = "SE2321000016-U005"
"""The sample directory's unit of Region Annan, whose provider has signed Region Annan's agreement."""
USER_ELSEWHERE = "SE2321000016-E008"
"""`EFK;Användare` there: in good standing, but of a region this deployment does not serve."""


async def test_contact_details_are_kept_by_patient_key_and_every_change_and_read_is_audited(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    async with (
        reading(notifications.bootstrap, AUDIT.name) as audit,
        reading(notifications.bootstrap, PATIENT_CONTACTS.name) as contacts,
    ):
        await notifications.set_contact(
            patient,
            channel="email",
            email="asa@example.se",
            language="en",
            postal_address=["Storgatan 1", "582 22 Linköping"],
        )
        got = await notifications.http.post(
            "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}, headers=CLERK
        )
        assert got.status_code == 200
        assert got.json()["email"] == "asa@example.se" and got.json()["language"] == "en"
        assert got.json()["changed_by"] == CLERK_ID

        entries = await audit.wait_for(lambda r: r.key == patient.key.encode(), count=2)
        [published] = await contacts.wait_for(lambda r: r.key == patient.key.encode())

    actions = sorted(json.loads(r.value)["payload"]["action"] for r in entries)
    assert actions == ["contact_details.changed", "contact_details.read"]
    assert {json.loads(r.value)["payload"]["actor"] for r in entries} == {CLERK_ID}
    assert json.loads(published.value)["payload"]["channel"] == "email"
    stored = await notifications.db.fetch(
        f"SELECT * FROM {notifications.name}.patient_contacts WHERE patient_key = $1", patient.key
    )
    assert len(stored) == 1
    assert patient.identity_number.replace("-", "") not in str(dict(stored[0]))


async def test_contact_details_published_on_the_topic_are_taken_up_and_an_older_version_does_not_win(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    now = datetime.now(UTC)
    newer = PatientContactDetails(
        patient_key=patient.key,
        channel=NoticeChannel.LETTER,
        postal_address=["Box 1"],
        changed_at=now,
        changed_by="SE2321000016-SYS9",
    )
    older = newer.model_copy(
        update={"channel": NoticeChannel.EMAIL, "email": "old@example.se", "changed_at": now - timedelta(days=1)}
    )
    await notifications.publish(PATIENT_CONTACTS, patient.key, newer)
    late = await notifications.publish(PATIENT_CONTACTS, patient.key, older)

    async def handled() -> bool:
        return bool(
            await notifications.db.fetchval(
                f"SELECT 1 FROM {notifications.name}.inbox WHERE message_id = $1", str(late.event_id)
            )
        )

    assert await eventually(handled, timeout=30), "the older version was never consumed"
    row = await notifications.db.fetchrow(
        f"SELECT channel, email FROM {notifications.name}.patient_contacts WHERE patient_key = $1", patient.key
    )
    assert (row["channel"], row["email"]) == ("letter", None)


async def test_a_bad_identity_number_is_a_problem_naming_the_field_and_not_the_number(
    notifications: NotificationsUnderTest,
) -> None:
    response = await notifications.http.put(
        "/v1/patients/contact",
        headers=CLERK,
        json={"patient_id": "19850412-1231", "channel": "letter", "postal_address": ["Box 1"]},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == "patient_id" and "Luhn" in problem["detail"]
    assert "19850412" not in response.text


async def test_a_channel_without_its_address_is_a_problem_naming_the_missing_field(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    response = await notifications.http.put(
        "/v1/patients/contact", headers=CLERK, json={"patient_id": patient.identity_number, "channel": "email"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "email"
    assert response.json()["detail"] == "email: required when the channel is email"


async def test_an_invalid_field_is_a_problem_naming_it(notifications: NotificationsUnderTest, patient: Patient) -> None:
    response = await notifications.http.put(
        "/v1/patients/contact", headers=CLERK, json={"patient_id": patient.identity_number, "channel": "pigeon"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "channel" and problem["status"] == 422 and problem["type"].endswith("/invalid_value")


async def test_a_caller_without_identity_is_refused(notifications: NotificationsUnderTest, patient: Patient) -> None:
    response = await notifications.http.post(
        "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert (await notifications.http.get("/v1/notices")).status_code == 401


async def test_a_patient_without_contact_details_is_a_404_problem(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    response = await notifications.http.post(
        "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}, headers=CLERK
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_limited_user_may_look_contact_details_up_but_not_change_them(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    await notifications.set_contact(patient, channel="letter", postal_address=["Box 1"])

    looked_up = await notifications.http.post(
        "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}, headers=LOOKER
    )
    changed = await notifications.http.put(
        "/v1/patients/contact",
        headers=LOOKER,
        json={"patient_id": patient.identity_number, "channel": "letter", "postal_address": ["Box 2"]},
    )

    assert looked_up.status_code == 200 and looked_up.json()["postal_address"] == ["Box 1"]
    assert changed.status_code == 403
    assert changed.json()["code"] == "role_not_permitted"


@pytest.mark.parametrize(
    ("method", "path", "details"),
    [("POST", "/v1/patients/contact/lookup", {}), ("PUT", "/v1/patients/contact", LETTER)],
    ids=["look up", "change"],
)
async def test_someone_without_a_commission_may_neither_look_up_nor_change_contact_details(
    notifications: NotificationsUnderTest, patient: Patient, method: str, path: str, details: dict[str, Any]
) -> None:
    response = await notifications.http.request(
        method,
        path,
        headers={"X-HSA-ID": "SE2321000016-NOBODY"},
        json={"patient_id": patient.identity_number, **details},
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "no_commission"


async def test_a_user_acting_for_a_unit_of_another_region_may_neither_read_contact_details_nor_set_a_webhook(
    notifications: NotificationsUnderTest, patient: Patient, infra: InfraEndpoints
) -> None:
    await notifications.set_contact(patient, channel="letter", postal_address=["Box 1"])
    actors = PartialExport(REGION_ELSEWHERE)
    actors.employee(USER_ELSEWHERE, actors.unit(UNIT_ELSEWHERE, actors.provider(PROVIDER_ELSEWHERE)))
    await admit(infra, actors, access=notifications.access, readers=(notifications.name,))
    elsewhere = {"X-HSA-ID": USER_ELSEWHERE, "X-Care-Unit": UNIT_ELSEWHERE}

    looked_up = await notifications.http.post(
        "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}, headers=elsewhere
    )
    webhook = {"channel": "webhook", "webhook_url": "https://mailbox.elsewhere.test/hook"}
    changed = await notifications.http.put(
        "/v1/patients/contact", json={"patient_id": patient.identity_number, **webhook}, headers=elsewhere
    )

    for refused in (looked_up, changed):
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "region_not_served"
    kept = await notifications.http.post(
        "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}, headers=CLERK
    )
    assert (kept.json()["channel"], kept.json()["webhook_url"]) == ("letter", None)
