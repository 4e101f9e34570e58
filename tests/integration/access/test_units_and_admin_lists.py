"""What the desk asks access before it shows anything: the caller's own units and what they may do there
(`GET /v1/me/units`), and central support's lists of integrated systems and agreements. The people are the
sample directory's (see README: Access)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from access import mirror
from access.directory import parse_export
from tests.integration.access.conftest import CENTRAL_SUPPORT, CENTRAL_UNIT, SAMPLE_DIRECTORY, RunningAccess

pytestmark = pytest.mark.integration

USER, LIMITED, ADMINISTRATOR = "SE2321000016-E001", "SE2321000016-E002", "SE2321000016-E003"
WITHOUT_ROLE, COMMISSION_ENDED, OTHER_REGION = "SE2321000016-E006", "SE2321000016-E007", "SE2321000016-E008"
NOBODY = "SE2321000016-E999"


@pytest.fixture
async def sample(access: RunningAccess) -> RunningAccess:
    """The sample directory as `efrikort import-directory` loads it (again, as other tests change it)."""
    async with access.runtime.uow.begin() as tx:
        await mirror.import_export(tx, parse_export(SAMPLE_DIRECTORY.read_bytes()))
    return access


async def units_of(access: RunningAccess, who: str) -> list[dict[str, Any]]:
    answer = await access.http.get("/v1/me/units", headers={"X-HSA-ID": who})
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def test_a_caller_sees_the_units_they_may_act_for_and_what_they_may_do_there(sample: RunningAccess) -> None:
    # E001 also holds a role at U004, whose provider has no agreement: not a unit to act for.
    [unit] = await units_of(sample, USER)
    assert {k: unit[k] for k in ("care_unit", "unit_name", "care_provider", "region", "role")} == {
        "care_unit": "SE2321000016-U001",
        "unit_name": "Vårdcentralen Centrum",
        "care_provider": "SE2321000016-P001",
        "region": "Region Exempel",
        "role": "EFK;Användare",
    }
    assert {"protection.read", "fee.register", "fee.correct", "fee.delete"} <= set(unit["actions"])
    assert "patient.exit" not in unit["actions"] and "access.manage" not in unit["actions"]

    [limited] = await units_of(sample, LIMITED)
    assert (limited["care_unit"], limited["role"], limited["actions"]) == (
        "SE2321000016-U001",
        "EFK;BegränsadAnvändare",
        ["protection.read"],
    )
    [central] = await units_of(sample, CENTRAL_SUPPORT["X-HSA-ID"])
    assert central["care_unit"] == CENTRAL_UNIT and {"patient.exit", "access.manage"} <= set(central["actions"])


@pytest.mark.parametrize("who", [WITHOUT_ROLE, COMMISSION_ENDED, OTHER_REGION, NOBODY])
async def test_a_caller_with_no_unit_to_act_for_gets_an_empty_list_not_a_refusal(
    sample: RunningAccess, who: str
) -> None:
    assert await units_of(sample, who) == []


async def test_whose_units_needs_a_trusted_identity(sample: RunningAccess) -> None:
    answer = await sample.http.get("/v1/me/units")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


async def test_central_support_lists_the_integrated_systems_with_their_standing(sample: RunningAccess) -> None:
    answer = await sample.http.get("/v1/systems", headers=CENTRAL_SUPPORT)
    assert answer.status_code == 200, answer.text
    systems = {s["system_id"]: s for s in answer.json()}
    assert systems["SE2321000016-SYS1"] == {
        "system_id": "SE2321000016-SYS1",
        "name": "Journal Exempel",
        "certified": True,
        "suspended": False,
        "approved_regions": ["Region Exempel"],
        "state": "approved",
    }
    assert systems["SE2321000016-SYS2"]["state"] == "suspended"
    assert systems["SE2321000016-SYS3"]["state"] == "not_certified"


async def test_central_support_lists_the_care_providers_and_their_agreements(sample: RunningAccess) -> None:
    answer = await sample.http.get("/v1/agreements", headers=CENTRAL_SUPPORT)
    assert answer.status_code == 200, answer.text
    providers = {p["care_provider"]: p for p in answer.json()}
    assert providers["SE2321000016-P001"] == {
        "care_provider": "SE2321000016-P001",
        "name": "Vårdcentralen Exempel AB",
        "in_directory": True,
        "region": "Region Exempel",
        "signed_on": "2019-01-01",
        "terminated_on": None,
        "state": "signed",
    }
    assert (providers["SE2321000016-P003"]["state"], providers["SE2321000016-P003"]["signed_on"]) == ("none", None)
    assert (providers["SE2321000016-P004"]["region"], providers["SE2321000016-P004"]["state"]) == (
        "Region Annan",
        "other_region",
    )


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["code"])


@pytest.mark.parametrize("path", ["/v1/systems", "/v1/agreements"])
async def test_the_admin_lists_are_central_supports_alone(sample: RunningAccess, path: str) -> None:
    async def asked_by(who: str, **headers: str) -> httpx.Response:
        return await sample.http.get(path, headers={"X-HSA-ID": who, **headers})

    assert refusal(await asked_by(USER)) == "role_not_permitted"
    assert refusal(await asked_by(ADMINISTRATOR)) == "role_not_permitted"
    assert refusal(await asked_by(LIMITED)) == "role_not_permitted"
    assert refusal(await asked_by(WITHOUT_ROLE)) == "no_role"
    assert refusal(await asked_by(NOBODY)) == "no_commission"
    assert refusal(await asked_by(OTHER_REGION)) == "region_not_served"
    # Central support acting for a unit where they hold nothing.
    assert refusal(await asked_by(CENTRAL_SUPPORT["X-HSA-ID"], **{"X-Care-Unit": "SE2321000016-U001"})) == (
        "no_commission"
    )
    assert (await sample.http.get(path)).status_code == 401
