"""Who may work the notices: the operator endpoints ask notifications' read model of the access grants,
taken in from the grants topic, and refuse with a problem naming the reason."""

from __future__ import annotations

import pytest

from tests.integration.notifications.conftest import CLERK, CLERK_UNIT, OPERATOR, NotificationsUnderTest

pytestmark = pytest.mark.integration


async def test_central_support_may_list_the_failed_notices(notifications: NotificationsUnderTest) -> None:
    response = await notifications.http.get("/v1/notices", params={"state": "failed"}, headers=OPERATOR)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)


@pytest.mark.parametrize(
    ("caller", "reason"),
    [
        (CLERK, "role_not_permitted"),
        ({"X-HSA-ID": "SE2321000016-NOBODY"}, "no_commission"),
    ],
    ids=["a user at a unit", "someone without any commission"],
)
async def test_others_are_refused_with_the_reason(
    notifications: NotificationsUnderTest, caller: dict[str, str], reason: str
) -> None:
    for response in (
        await notifications.http.get("/v1/notices", headers=caller),
        await notifications.http.post("/v1/notices/999999999/resend", headers=caller),
    ):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == reason and problem["type"].endswith("/" + reason)
        assert [r["code"] for r in problem["reasons"]] == [reason]


async def test_the_unit_named_is_the_one_acted_for(notifications: NotificationsUnderTest) -> None:
    # Central support acting for a unit where they hold no commission may not, though they may elsewhere.
    response = await notifications.http.get("/v1/notices", headers={**OPERATOR, "X-Care-Unit": CLERK_UNIT})
    assert response.status_code == 403
    assert response.json()["code"] == "no_commission"
