"""Setting and reading a patient's contact details is audited under the unit the caller acted for: the
one named in `X-Care-Unit`, or else the one of theirs whose grant allowed it."""

from __future__ import annotations

import json

from contracts.topics import AUDIT
from tests.integration.notifications.conftest import CLERK, CLERK_UNIT, NotificationsUnderTest, Patient
from tests.kafka_clients import reading


async def test_contact_details_set_and_read_naming_no_unit_are_audited_under_the_unit_the_caller_acted_for(
    notifications: NotificationsUnderTest, patient: Patient
) -> None:
    async with reading(notifications.bootstrap, AUDIT.name) as audit:
        # The clerk names no unit: they act for the one unit where they hold a grant.
        await notifications.set_contact(patient, channel="letter", postal_address=["Box 1"])
        looked_up = await notifications.http.post(
            "/v1/patients/contact/lookup", json={"patient_id": patient.identity_number}, headers=CLERK
        )
        assert looked_up.status_code == 200, looked_up.text
        entries = await audit.wait_for(lambda r: r.key == patient.key.encode(), count=2)

    audited = sorted((p["action"], p["care_unit"]) for p in (json.loads(r.value)["payload"] for r in entries))
    assert audited == [("contact_details.changed", CLERK_UNIT), ("contact_details.read", CLERK_UNIT)]
