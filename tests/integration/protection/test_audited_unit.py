"""Every read of a patient's data is audited under the unit the caller acted for: the one named in
`X-Care-Unit`, or else the one of theirs whose grant allowed it."""

from __future__ import annotations

import json

import httpx
import pytest

from contracts.topics import AUDIT
from efrikort.infra.stack import InfraEndpoints
from runtime.http import patient_key_of
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.integration.protection.conftest import UNIT_A
from tests.kafka_clients import reading
from tests.submissions import new_patient

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("route", "action"), [("protection", "protection.read"), ("extract", "extract.read")])
async def test_a_lookup_naming_no_unit_is_audited_under_the_unit_the_caller_acted_for(
    route: str, action: str, infra: InfraEndpoints, http: httpx.AsyncClient
) -> None:
    patient = new_patient()
    key = patient_key_of(patient, DEV_PATIENT_KEY_SECRET).encode()
    async with reading(infra.kafka_bootstrap_servers, AUDIT.name) as audit:
        # The desk names no unit: it acts for unit A, the one unit where it holds a grant.
        looked_up = await http.post(f"/v1/patients/{route}", json={"patient_id": patient})
        assert looked_up.status_code == 200, looked_up.text
        [entry] = await audit.wait_for(lambda r: r.key == key)

    payload = json.loads(entry.value)["payload"]
    assert (payload["action"], payload["care_unit"]) == (action, UNIT_A)
