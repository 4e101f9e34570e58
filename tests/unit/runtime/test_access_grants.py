"""The questions every deciding service asks its read model of the access grants: who may register a
fee at a unit, who may do what over HTTP, and why not."""

from datetime import date, datetime

from contracts.access_events import AccessRole, grant_key
from contracts.authorization import Action, Denial
from runtime.access_grants import Grant, Grants, refused
from runtime.identity import Caller
from tests.grants import REGION, employee, system, unit

TODAY = date(2026, 3, 10)


def grants(*given: Grant) -> Grants:
    return Grants({grant_key(g): g for g in given})


def register(found: Grants, *, through: str | None = "SYS") -> str | None:
    decision = found.decide(
        Action.REGISTER_FEE, region=REGION, acting_unit="U", employee="E", system_id=through, today=TODAY
    )
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


# --- an HTTP caller: acting for the unit they name, else for whichever of theirs allows it -----------

OTHER_PROVIDER_UNIT = unit("U2", provider="OTHER")


def may(
    found: Grants,
    action: Action,
    *,
    caller: str = "E",
    acting_unit: str | None = None,
    target_unit: str | None = None,
    system_id: str | None = None,
) -> str | None:
    decision = found.decide_for_caller(
        action,
        Caller(caller, system_id),
        region=REGION,
        today=TODAY,
        acting_unit=acting_unit,
        target_unit=target_unit,
    )
    return None if decision.allowed else decision.denial


def test_a_limited_user_may_look_up_a_patient_but_not_mark_an_overcharge_refunded() -> None:
    found = grants(unit("U"), employee("E", "U", role=AccessRole.LIMITED_USER))
    assert may(found, Action.READ_PROTECTION) is None
    assert may(found, Action.MARK_OVERCHARGE_REFUNDED, target_unit="U") == Denial.ROLE_NOT_PERMITTED


def test_any_of_the_callers_units_that_allows_it_will_do() -> None:
    found = grants(
        unit("U"),
        unit("V"),
        employee("E", "U", role=AccessRole.LIMITED_USER),
        employee("E", "V", role=AccessRole.SUPERUSER),
    )
    assert may(found, Action.MANAGE_NOTICES) is None
    assert may(found, Action.MANAGE_NOTICES, acting_unit="U") == Denial.ROLE_NOT_PERMITTED


def test_a_user_reaches_the_own_providers_units_only() -> None:
    found = grants(unit("U"), OTHER_PROVIDER_UNIT, employee("E", "U"))
    assert may(found, Action.MARK_OVERCHARGE_REFUNDED, target_unit="U") is None
    assert may(found, Action.MARK_OVERCHARGE_REFUNDED, target_unit="U2") == Denial.OTHER_PROVIDER


def test_a_caller_without_any_grant_is_told_there_is_no_commission() -> None:
    assert may(grants(unit("U")), Action.READ_PROTECTION) == Denial.NO_COMMISSION
    assert may(grants(unit("U")), Action.READ_PROTECTION, target_unit="U") == Denial.NO_COMMISSION


def test_a_caller_through_a_system_needs_it_approved() -> None:
    found = grants(unit("U"), employee("E", "U"))
    assert may(found, Action.READ_PROTECTION, system_id="SYS") == Denial.SYSTEM_NOT_APPROVED
    assert may(grants(unit("U"), employee("E", "U"), system("SYS")), Action.READ_PROTECTION, system_id="SYS") is None


def test_a_refusal_is_a_403_problem_naming_the_denial() -> None:
    decision = grants(unit("U"), employee("E", "U", role=None)).decide_for_caller(
        Action.READ_PROTECTION, Caller("E"), region=REGION, today=TODAY
    )
    problem = refused(decision)
    assert (problem.status, problem.code) == (403, "no_role")
    assert [r.code for r in problem.reasons] == ["no_role"]


def test_a_caller_with_units_in_two_regions_acts_for_the_one_this_deployment_serves() -> None:
    found = grants(unit("U"), unit("FAR", region="Region Annan"), employee("E", "U"), employee("E", "FAR"))
    assert may(found, Action.READ_PROTECTION) is None
    assert may(found, Action.READ_PROTECTION, acting_unit="FAR") == Denial.REGION_NOT_SERVED


def test_an_allowed_caller_acts_for_the_unit_they_name_or_else_the_one_of_theirs_that_allows_it() -> None:
    found = grants(
        unit("FAR", region="Region Annan"),
        unit("U"),
        unit("V"),
        employee("E", "FAR"),
        employee("E", "U"),
        employee("E", "V"),
    )

    def acting_for(acting_unit: str | None) -> str | None:
        decision = found.decide_for_caller(
            Action.READ_PROTECTION, Caller("E"), region=REGION, today=TODAY, acting_unit=acting_unit
        )
        return decision.acting_unit

    assert acting_for("V") == "V"
    assert acting_for(None) == "U"
    assert acting_for("FAR") is None


def test_a_caller_whose_only_unit_is_of_another_region_is_refused_naming_the_region() -> None:
    found = grants(unit("FAR", region="Region Annan"), employee("E", "FAR", role=AccessRole.SUPERUSER))
    assert may(found, Action.READ_PROTECTION) == Denial.REGION_NOT_SERVED
    assert may(found, Action.CHANGE_CONTACT_DETAILS) == Denial.REGION_NOT_SERVED
