"""The grants that follow from the mirror (DOMAIN.md: an employee may act for a unit only while
holding a commission there with purpose "Vård och behandling" or "Administration" AND an e-frikort
role; only providers with a signed agreement may register)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from access.directory import DirectoryFileError, parse_export
from access.granting import Agreement, Commission, Computed, Unit, employee_grant, unit_grant
from contracts.access_events import AccessRole, EmployeeGrant

NOW = datetime(2025, 6, 1, tzinfo=UTC)
TODAY = date(2025, 6, 1)


def commission(
    purpose: str = "Vård och behandling", valid_from: date = date(2020, 1, 1), valid_to: date | None = None
) -> Commission:
    return Commission("C1", "E1", "U1", purpose, valid_from, valid_to)


def grant(
    *commissions: Commission, roles: tuple[AccessRole, ...] = (AccessRole.USER,), in_directory: bool = True
) -> Computed[EmployeeGrant]:
    return employee_grant(
        "E1", "U1", in_directory=in_directory, commissions=commissions, roles=roles, today=TODAY, now=NOW
    )


@pytest.mark.parametrize(
    ("given", "active"),
    [
        (commission(), True),
        (commission(purpose="Administration"), True),
        (commission(purpose="Forskning"), False),
        (commission(valid_to=TODAY), True),
        (commission(valid_to=date(2025, 5, 31)), False),
        (commission(valid_from=date(2025, 6, 2)), False),
    ],
    ids=["care", "administration", "another purpose", "last day today", "ended yesterday", "starts tomorrow"],
)
def test_a_commission_gives_rights_with_an_accepted_purpose_while_valid(given: Commission, active: bool) -> None:
    assert grant(given).grant.commission_active is active


def test_an_employee_who_left_the_directory_holds_nothing_whatever_commissions_remain() -> None:
    assert grant(commission(), in_directory=False).grant.commission_active is False


def test_the_strongest_role_at_the_unit_counts() -> None:
    held = grant(commission(), roles=(AccessRole.LIMITED_USER, AccessRole.ADMINISTRATOR, AccessRole.USER))
    assert held.grant.role == AccessRole.ADMINISTRATOR
    assert grant(commission(), roles=()).grant.role is None


def test_a_grant_says_when_the_calendar_will_change_it() -> None:
    assert grant(commission(valid_to=date(2025, 6, 30))).recheck_on == date(2025, 7, 1)
    assert grant(commission(valid_from=date(2025, 7, 1))).recheck_on == date(2025, 7, 1)
    assert grant(commission()).recheck_on is None
    assert grant(commission(valid_to=date(2025, 6, 30))).grant.commission_valid_to == date(2025, 6, 30)


def test_an_agreement_is_in_force_from_signing_until_its_termination_day() -> None:
    unit = Unit("U1", "P1", "Region Exempel", True)
    signed = Agreement("P1", "Region Exempel", date(2020, 1, 1))
    assert unit_grant(unit, signed, TODAY, NOW).grant.agreement_signed
    assert not unit_grant(unit, None, TODAY, NOW).grant.agreement_signed
    ending = Agreement("P1", "Region Exempel", date(2020, 1, 1), terminated_on=date(2025, 6, 15))
    assert unit_grant(unit, ending, TODAY, NOW).grant.agreement_signed
    assert unit_grant(unit, ending, TODAY, NOW).recheck_on == date(2025, 6, 15)
    assert not unit_grant(unit, ending, date(2025, 6, 15), NOW).grant.agreement_signed


def test_a_directory_file_is_refused_naming_the_field_that_is_wrong() -> None:
    with pytest.raises(DirectoryFileError) as error:
        parse_export(
            b'{"format": "efrikort-directory/1", "care_units": [{"hsa_id": "U1", "care_provider": "P9", '
            b'"region": "R"}]}'
        )
    assert error.value.field == "care_units.0.care_provider"
    with pytest.raises(DirectoryFileError) as error:
        parse_export(b'{"format": "something-else"}')
    assert error.value.field == "format"
