"""Who may read what came of a fee, and under which unit the reading is audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest

from contracts.clock import today_in_sweden
from contracts.topics import AUDIT
from efrikort.infra.stack import InfraEndpoints
from efrikort.through_access import PartialExport
from tests.actors import admit
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import as_caller, post_fee, valid_fee
from tests.grants import REGION
from tests.kafka_clients import reading

pytestmark = pytest.mark.e2e


async def test_an_employee_whose_commission_has_ended_reads_no_outcome_of_a_fee_they_registered(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    leaving = directory.id(f"E-LEAVING-{uuid.uuid4().hex[:6].upper()}")
    hired = PartialExport(REGION)
    hired.employee(leaving, directory.unit)
    await admit(infra, hired, readers=("registration",))
    fee = valid_fee(directory, registered_by=leaving)
    assert (await post_fee(registration_http, fee)).status_code == 200
    url, through = f"/v1/submissions/{fee['submission_id']}/outcome", as_caller(leaving, directory.system)
    # Read back at once: the POST is answered only after its outcome is committed.
    assert (await registration_http.get(url, headers=through)).status_code == 200

    left = PartialExport(REGION)
    left.employee(leaving, directory.unit, commission_ended_on=today_in_sweden() - timedelta(days=2))
    await admit(infra, left, readers=("registration",))
    refused = await registration_http.get(url, headers=through)

    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "no_commission"


async def test_reading_a_fee_naming_no_unit_is_audited_under_the_unit_the_caller_acted_for(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    registered = await post_fee(registration_http, valid_fee(directory))
    fee_id = registered.json()["fee_id"]
    async with reading(infra.kafka_bootstrap_servers, AUDIT.name) as audit:
        # The colleague works at the sister unit only, and names no unit: they act for that one.
        read = await registration_http.get(f"/v1/fees/{fee_id}", headers=as_caller(directory.colleague))
        assert read.status_code == 200, read.text
        [entry] = await audit.wait_for(lambda r: b'"fee.read"' in r.value and fee_id.encode() in r.value)

    payload = json.loads(entry.value)["payload"]
    assert (payload["actor"], payload["care_unit"]) == (directory.colleague, directory.sister_unit)
