"""Corrections (rättelse) and deletions: by the registering provider's users, or by the region's
administrators; each a new version with the earlier kept, passed on to protection, and audited."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.topics import AUDIT, FEES
from efrikort.infra.stack import InfraEndpoints
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import as_caller, post_fee, valid_fee
from tests.kafka_clients import reading

pytestmark = pytest.mark.e2e


async def registered(http: httpx.AsyncClient, directory: Directory, **overrides: Any) -> dict[str, Any]:
    fee = valid_fee(directory, **overrides)
    response = await post_fee(http, fee)
    assert response.status_code == 200, response.text
    return {**fee, "fee_id": response.json()["fee_id"]}


async def test_the_registering_providers_user_corrects_a_fee_and_every_version_is_kept(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    fee = await registered(registration_http, directory, fee_amount=300, paid_amount=300)
    url = f"/v1/fees/{fee['fee_id']}"
    async with (
        reading(infra.kafka_bootstrap_servers, FEES.name) as fees,
        reading(infra.kafka_bootstrap_servers, AUDIT.name) as audit,
    ):
        corrected = await registration_http.patch(
            url,
            json={"fee_amount": 200, "paid_amount": 200, "reason": "wrong tariff"},
            headers={**as_caller(directory.colleague), "If-Match": '"1"'},
        )
        assert corrected.status_code == 200, corrected.text
        [event] = await fees.wait_for(lambda r: b"FeeCorrected" in r.value and fee["fee_id"].encode() in r.value)
        await audit.wait_for(lambda r: b"fee.corrected" in r.value and fee["fee_id"].encode() in r.value)

    assert corrected.headers["ETag"] == '"2"'
    body = corrected.json()
    assert (body["version"], body["fee_amount"], body["paid_amount"]) == (2, 200, 200)
    assert [(v["version"], v["change"], v["fee_amount"]) for v in body["versions"]] == [
        (1, "registered", 300),
        (2, "corrected", 200),
    ]
    payload = json.loads(event.value)["payload"]
    assert (payload["version"], payload["fee_amount"], payload["corrected_by"]) == (2, 200, directory.colleague)

    read = await registration_http.get(url, headers=as_caller(directory.user))
    assert read.status_code == 200 and len(read.json()["versions"]) == 2


async def test_a_correction_is_checked_like_a_new_fee(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    fee = await registered(registration_http, directory)
    response = await registration_http.patch(
        f"/v1/fees/{fee['fee_id']}", json={"fee_amount": -5, "paid_amount": 0}, headers=as_caller(directory.user)
    )
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("negative_amount", "fee_amount")


async def test_a_correction_of_an_older_version_than_the_current_is_refused(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    fee = await registered(registration_http, directory, fee_amount=300, paid_amount=300)
    url = f"/v1/fees/{fee['fee_id']}"
    first = await registration_http.patch(
        url, json={"fee_amount": 250, "paid_amount": 250}, headers={**as_caller(directory.user), "If-Match": '"1"'}
    )
    assert first.status_code == 200
    stale = await registration_http.patch(
        url, json={"fee_amount": 200, "paid_amount": 200}, headers={**as_caller(directory.user), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("other_provider_user", 403, "other_provider"),
        ("other_region_administrator", 403, "region_not_served"),
        ("limited_user", 403, "role_not_permitted"),
        ("without_commission", 403, "no_commission"),
        ("administrator", 200, None),
    ],
)
async def test_who_may_correct_another_units_fee(
    who: str, status: int, code: str | None, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    fee = await registered(registration_http, directory, fee_amount=300, paid_amount=300)
    response = await registration_http.patch(
        f"/v1/fees/{fee['fee_id']}", json={"fee_type": "other_staff_visit"}, headers=as_caller(getattr(directory, who))
    )
    assert response.status_code == status, response.text
    if code:
        assert response.json()["code"] == code
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_deleted_fee_keeps_its_versions_goes_on_to_protection_and_cannot_be_changed(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    fee = await registered(registration_http, directory)
    url = f"/v1/fees/{fee['fee_id']}"
    async with reading(infra.kafka_bootstrap_servers, FEES.name) as fees:
        deleted = await registration_http.delete(
            url, params={"reason": "registered twice"}, headers=as_caller(directory.user)
        )
        assert deleted.status_code == 200, deleted.text
        await fees.wait_for(lambda r: b"FeeDeleted" in r.value and fee["fee_id"].encode() in r.value)

    assert deleted.json()["deleted"] is True
    assert [v["change"] for v in deleted.json()["versions"]] == ["registered", "deleted"]
    again = await registration_http.delete(url, headers=as_caller(directory.user))
    assert again.status_code == 409 and again.json()["code"] == "fee_deleted"
    corrected = await registration_http.patch(url, json={"fee_amount": 1}, headers=as_caller(directory.user))
    assert corrected.status_code == 409
    rows = await db.fetch(
        "SELECT version, deleted FROM registration.fee_versions WHERE fee_id = $1 ORDER BY version", fee["fee_id"]
    )
    assert [(r["version"], r["deleted"]) for r in rows] == [(1, False), (2, True)]


async def test_a_fee_nobody_registered_is_not_found(directory: Directory, registration_http: httpx.AsyncClient) -> None:
    response = await registration_http.get(
        "/v1/fees/00000000-0000-0000-0000-000000000000", headers=as_caller(directory.user)
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
