"""Registration's questions to the access grants: who may register a fee at a unit, and why not."""

from datetime import date, datetime

from contracts.access_events import AccessRole
from contracts.authorization import Action
from efrikort.grants import employee, system, unit
from registration.grants import Grant, Grants, key_of

TODAY = date(2026, 3, 10)


def grants(*given: Grant) -> Grants:
    return Grants({key_of(g): g for g in given})


def register(found: Grants, *, through: str | None = "SYS") -> str | None:
    decision = found.decide(Action.REGISTER_FEE, acting_unit="U", employee="E", system_id=through, today=TODAY)
    return None if decision.allowed else decision.denial


def test_a_user_with_commission_at_a_signed_unit_through_an_approved_system_may_register() -> None:
    assert register(grants(unit("U"), employee("E", "U"), system("SYS"))) is None


def test_a_commission_whose_last_day_has_passed_holds_no_rights() -> None:
    ended = employee("E", "U", valid_to=datetime(2026, 3, 9))
    assert register(grants(unit("U"), ended, system("SYS"))) == "no_commission"


def test_a_commission_is_in_force_on_its_last_day() -> None:
    last_day = employee("E", "U", valid_to=datetime(2026, 3, 10))
    assert register(grants(unit("U"), last_day, system("SYS"))) is None


def test_each_missing_grant_is_named() -> None:
    assert register(grants(employee("E", "U"), system("SYS"))) == "unknown_care_unit"
    assert register(grants(unit("U", agreement=False), employee("E", "U"), system("SYS"))) == "no_agreement"
    assert register(grants(unit("U"), employee("E", "U"))) == "system_not_approved"
    assert register(grants(unit("U"), system("SYS"))) == "no_commission"
    assert register(grants(unit("U"), employee("E", "U", role=None), system("SYS"))) == "no_role"
    limited = employee("E", "U", role=AccessRole.LIMITED_USER)
    assert register(grants(unit("U"), limited, system("SYS"))) == "role_not_permitted"


def test_a_person_at_the_web_application_needs_no_system() -> None:
    assert register(grants(unit("U"), employee("E", "U")), through=None) is None
