"""A patient's fees as registration keeps them (`POST /v1/patients/fees`): newest visit first, deleted ones
marked, each with the version to correct or delete it by; who may read them; a paper receipt registered
over HTTP by a person at the desk."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from contracts.clock import today_in_sweden
from contracts.topics import AUDIT
from efrikort.infra.stack import InfraEndpoints
from runtime.http import patient_key_of
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import DROP, as_caller, post_fee, valid_fee
from tests.kafka_clients import reading
from tests.submissions import new_patient

pytestmark = pytest.mark.e2e


def days_ago(days: int) -> str:
    return (today_in_sweden() - timedelta(days=days)).isoformat()


async def test_a_patients_fees_are_listed_newest_visit_first_with_deleted_ones_marked(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    patient = new_patient()
    older = valid_fee(directory, patient_id=patient, visit_date=days_ago(10), fee_amount=200, paid_amount=200)
    newer = valid_fee(directory, patient_id=patient, visit_date=days_ago(3), fee_amount=300, paid_amount=300)
    older_id = (await post_fee(registration_http, older)).json()["fee_id"]
    newer_id = (await post_fee(registration_http, newer)).json()["fee_id"]
    deleted = await registration_http.delete(f"/v1/fees/{older_id}", headers=as_caller(directory.user))
    assert deleted.status_code == 200, deleted.text

    key = patient_key_of(patient, DEV_PATIENT_KEY_SECRET).encode()
    async with reading(infra.kafka_bootstrap_servers, AUDIT.name) as audit:
        listed = await registration_http.post(
            "/v1/patients/fees", json={"patient_id": patient}, headers=as_caller(directory.limited_user)
        )
        assert listed.status_code == 200, listed.text
        [entry] = await audit.wait_for(lambda r: r.key == key and b'"fees.read"' in r.value)
    assert json.loads(entry.value)["payload"]["actor"] == directory.limited_user

    first, second = listed.json()
    assert first == {
        "fee_id": newer_id,
        "visit_date": newer["visit_date"],
        "care_unit": directory.unit,
        "fee_type": "doctor_visit",
        "fee_amount": 300,
        "paid_amount": 300,
        "source": "visit",
        "receipt_issuer": None,
        "version": 1,
        "deleted": False,
        "registered_at": first["registered_at"],
    }
    assert (second["fee_id"], second["version"], second["deleted"]) == (older_id, 2, True)
    assert patient not in listed.text.replace(f'"{patient}"', "")


async def test_a_person_at_the_desk_registers_a_paper_receipt_from_another_region(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    patient = new_patient()
    receipt = valid_fee(
        directory,
        patient_id=patient,
        system_id=DROP,
        fee_type="receipt_other_region",
        fee_amount=250,
        paid_amount=250,
        source="receipt",
        receipt_issuer="Region Annan, Vårdcentralen Norr",
    )
    registered = await post_fee(registration_http, receipt)
    assert registered.status_code == 200, registered.text
    assert (registered.json()["status"], registered.json()["amount_due"]) == ("accepted", 250)

    by_user = as_caller(directory.user)
    [listed] = (await registration_http.post("/v1/patients/fees", json={"patient_id": patient}, headers=by_user)).json()
    assert (listed["source"], listed["receipt_issuer"], listed["fee_type"]) == (
        "receipt",
        "Region Annan, Vårdcentralen Norr",
        "receipt_other_region",
    )

    without_issuer = valid_fee(directory, system_id=DROP, fee_type="receipt_other_region", source="receipt")
    refused = await post_fee(registration_http, without_issuer)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["field"]) == ("missing_receipt_issuer", "receipt_issuer")


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    return str(problem["code"])


async def test_a_patients_fees_are_refused_to_whoever_holds_no_e_frikort_role_for_a_unit_of_the_region(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    body = {"patient_id": new_patient()}

    async def asked_by(who: str, **headers: str) -> httpx.Response:
        return await registration_http.post("/v1/patients/fees", json=body, headers={**as_caller(who), **headers})

    assert (await asked_by(directory.limited_user)).status_code == 200
    assert refusal(await asked_by(directory.without_commission)) == "no_commission"
    assert refusal(await asked_by(directory.without_role)) == "no_role"
    assert refusal(await asked_by(directory.other_region_administrator)) == "region_not_served"
    at_another_unit = await asked_by(directory.limited_user, **{"X-Care-Unit": directory.other_provider_unit})
    assert refusal(at_another_unit) == "no_commission"
    assert (await registration_http.post("/v1/patients/fees", json=body)).status_code == 401
    invalid = await registration_http.post(
        "/v1/patients/fees", json={"patient_id": "19850412-1231"}, headers=as_caller(directory.user)
    )
    assert (invalid.status_code, invalid.json()["field"]) == (422, "patient_id")
