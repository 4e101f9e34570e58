"""Who asks is decided before anything they send is read, and what they do is audited under the unit they
acted for, named in `X-Care-Unit` or else the one of theirs that allowed it."""

from __future__ import annotations

import json

from runtime.http import patient_key_of
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.integration.access.conftest import CENTRAL_SUPPORT, CENTRAL_UNIT, SAMPLE_DIRECTORY, RunningAccess
from tests.integration.access.test_access import USER, import_sample
from tests.kafka_clients import eventually
from tests.submissions import new_patient


async def test_a_directory_import_by_a_caller_without_the_right_is_refused_before_the_file_is_read(
    access: RunningAccess,
) -> None:
    await import_sample(access)
    mistaken = json.loads(SAMPLE_DIRECTORY.read_bytes())
    mistaken["commissions"][2]["valid_from"] = "2025-13-01"

    for body in (json.dumps(mistaken).encode(), b"not a directory file at all"):
        refused = await access.http.post(
            "/v1/directory/imports",
            headers={**USER, "X-Care-Unit": "SE2321000016-U001", "Content-Type": "application/json"},
            content=body,
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "role_not_permitted"
        assert "valid_from" not in refused.text


async def test_reading_the_audit_trail_is_audited_under_the_unit_the_caller_acted_for(access: RunningAccess) -> None:
    await import_sample(access)
    patient = new_patient()
    key = patient_key_of(patient, DEV_PATIENT_KEY_SECRET)

    # Central support names no unit: they act for the one of theirs that allows it.
    trail = await access.http.post("/v1/audit/trail", headers=CENTRAL_SUPPORT, json={"patient_id": patient})
    assert trail.status_code == 200, trail.text

    async def audited() -> list[str | None] | None:
        rows = await access.rows("SELECT care_unit FROM {schema}.audit_entries WHERE patient_key = $1", key)
        return [row["care_unit"] for row in rows] or None

    assert await eventually(audited, timeout=20) == [CENTRAL_UNIT]
