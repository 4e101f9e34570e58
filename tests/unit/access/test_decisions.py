"""Who may do what (DOMAIN.md, access roles): every role x action x reach, with the expected answer.

Reach is where the thing acted on belongs, seen from the unit the employee acts for: the own care
provider, another provider in the same region, or another region. The last column is the employee
acting for a unit of another region than the one the deployment serves (DESIGN.md: a deployment
serves one region): refused whatever the role, the action and the provider's agreement.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.access_events import AccessRole, CareUnitGrant, EmployeeGrant, SystemGrant
from contracts.authorization import Action, Decision, Denial, decide

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
TODAY = date(2025, 6, 1)

ACTING = CareUnitGrant(
    care_unit="U-OWN",
    care_provider="P-OWN",
    region="Region Exempel",
    agreement_signed=True,
    active=True,
    changed_at=NOW,
)
SAME_PROVIDER = ACTING.model_copy(update={"care_unit": "U-OWN-2"})
OTHER_PROVIDER = ACTING.model_copy(update={"care_unit": "U-OTHER", "care_provider": "P-OTHER"})
OTHER_REGION = ACTING.model_copy(update={"care_unit": "U-FAR", "care_provider": "P-FAR", "region": "Region Annan"})
SERVED = "Region Exempel"
"""The region the deployment serves (`EFRIKORT_REGION`)."""
ACTING_ELSEWHERE = OTHER_REGION
"""A unit of Region Annan whose provider has signed Region Annan's agreement (the sample's U005)."""

OWN, OTHER_PROV, OTHER_REG = "own provider", "other provider, same region", "other region"
ELSEWHERE = "acting for a unit of another region"
REACH = {OWN: SAME_PROVIDER, OTHER_PROV: OTHER_PROVIDER, OTHER_REG: OTHER_REGION, ELSEWHERE: OTHER_REGION}

YES = "allowed"
NOT_ROLE = Denial.ROLE_NOT_PERMITTED
NOT_PROV = Denial.OTHER_PROVIDER
NOT_REG = Denial.OTHER_REGION
NOT_SERVED = Denial.REGION_NOT_SERVED

L, U, A, S = AccessRole.LIMITED_USER, AccessRole.USER, AccessRole.ADMINISTRATOR, AccessRole.SUPERUSER

# (own provider, other provider in the region, other region, acting for a unit of another region)
TABLE: dict[tuple[AccessRole, Action], tuple[str, str, str, str]] = {
    # BegränsadAnvändare: look up status only, for the own provider.
    (L, Action.READ_PROTECTION): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (L, Action.REGISTER_FEE): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.CORRECT_FEE): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.DELETE_FEE): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.MARK_OVERCHARGE_REFUNDED): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.CHANGE_FREE_CARD): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.PATIENT_EXIT): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.READ_AUDIT_TRAIL): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.MANAGE_ACCESS): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.CHANGE_CONTACT_DETAILS): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (L, Action.MANAGE_NOTICES): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    # Användare: register, correct and delete the own provider's fees.
    (U, Action.READ_PROTECTION): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (U, Action.REGISTER_FEE): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (U, Action.CORRECT_FEE): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (U, Action.DELETE_FEE): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (U, Action.MARK_OVERCHARGE_REFUNDED): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (U, Action.CHANGE_FREE_CARD): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (U, Action.PATIENT_EXIT): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (U, Action.READ_AUDIT_TRAIL): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (U, Action.MANAGE_ACCESS): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (U, Action.CHANGE_CONTACT_DETAILS): (YES, NOT_PROV, NOT_REG, NOT_SERVED),
    (U, Action.MANAGE_NOTICES): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    # Administratör: any fee and any free card in the region, but not patient exit.
    (A, Action.READ_PROTECTION): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.REGISTER_FEE): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.CORRECT_FEE): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.DELETE_FEE): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.MARK_OVERCHARGE_REFUNDED): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.CHANGE_FREE_CARD): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.PATIENT_EXIT): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (A, Action.READ_AUDIT_TRAIL): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (A, Action.MANAGE_ACCESS): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    (A, Action.CHANGE_CONTACT_DETAILS): (YES, YES, NOT_REG, NOT_SERVED),
    (A, Action.MANAGE_NOTICES): (NOT_ROLE, NOT_ROLE, NOT_ROLE, NOT_SERVED),
    # Superanvändare: everything in the region: patient exit and re-entry, the audit trail, agreements and systems.
    (S, Action.READ_PROTECTION): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.REGISTER_FEE): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.CORRECT_FEE): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.DELETE_FEE): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.MARK_OVERCHARGE_REFUNDED): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.CHANGE_FREE_CARD): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.PATIENT_EXIT): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.READ_AUDIT_TRAIL): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.MANAGE_ACCESS): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.CHANGE_CONTACT_DETAILS): (YES, YES, NOT_REG, NOT_SERVED),
    (S, Action.MANAGE_NOTICES): (YES, YES, NOT_REG, NOT_SERVED),
}

CASES = [
    pytest.param(role, action, reach, expected, id=f"{role.value} {action.value} {reach}")
    for (role, action), answers in TABLE.items()
    for reach, expected in zip((OWN, OTHER_PROV, OTHER_REG, ELSEWHERE), answers, strict=True)
]


def employee(
    role: AccessRole | None = U, *, active: bool = True, valid_to: date | None = None, unit: CareUnitGrant = ACTING
) -> EmployeeGrant:
    return EmployeeGrant(
        employee="E-1",
        care_unit=unit.care_unit,
        commission_active=active,
        commission_valid_to=valid_to,
        role=role,
        changed_at=NOW,
    )


def answer(decision: Decision) -> str:
    return YES if decision.allowed else str(decision.denial)


def test_the_table_covers_every_role_and_every_action() -> None:
    assert set(TABLE) == {(role, action) for role in AccessRole for action in Action}


@pytest.mark.parametrize(("role", "action", "reach", "expected"), CASES)
def test_role_action_and_reach(role: AccessRole, action: Action, reach: str, expected: str) -> None:
    acting = ACTING_ELSEWHERE if reach == ELSEWHERE else ACTING
    decision = decide(
        action,
        region=SERVED,
        acting_unit=acting,
        employee=employee(role, unit=acting),
        target_unit=REACH[reach],
        today=TODAY,
    )
    assert answer(decision) == expected
    if not decision.allowed:
        assert decision.message and decision.field


@pytest.mark.parametrize(
    ("acting_unit", "expected"),
    [
        (None, Denial.UNKNOWN_CARE_UNIT),
        (ACTING.model_copy(update={"active": False}), Denial.UNKNOWN_CARE_UNIT),
        (ACTING.model_copy(update={"agreement_signed": False}), Denial.NO_AGREEMENT),
    ],
    ids=["unknown unit", "unit left the directory", "provider without agreement"],
)
def test_even_a_superuser_needs_a_known_unit_with_an_agreement(
    acting_unit: CareUnitGrant | None, expected: Denial
) -> None:
    decision = decide(Action.READ_PROTECTION, region=SERVED, acting_unit=acting_unit, employee=employee(S), today=TODAY)
    assert decision.denial == expected
    assert decision.field == "care_unit"


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        (None, Denial.NO_COMMISSION),
        (employee(S, active=False), Denial.NO_COMMISSION),
        (employee(S, valid_to=TODAY - timedelta(days=1)), Denial.NO_COMMISSION),
        (employee(None), Denial.NO_ROLE),
    ],
    ids=["no grant at all", "commission ended", "commission ran out yesterday", "commission but no role"],
)
def test_an_employee_needs_an_active_commission_and_a_role(grant: EmployeeGrant | None, expected: Denial) -> None:
    decision = decide(Action.REGISTER_FEE, region=SERVED, acting_unit=ACTING, employee=grant, today=TODAY)
    assert decision.denial == expected
    assert decision.field == "registered_by"


def test_a_commission_valid_through_today_still_counts() -> None:
    decision = decide(
        Action.REGISTER_FEE, region=SERVED, acting_unit=ACTING, employee=employee(U, valid_to=TODAY), today=TODAY
    )
    assert decision.allowed


def system(**changes: object) -> SystemGrant:
    base = SystemGrant(
        system_id="SYS-1",
        name="Journal",
        certified=True,
        suspended=False,
        approved_regions=["Region Exempel"],
        changed_at=NOW,
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    ("grant", "allowed"),
    [
        (system(), True),
        (None, False),
        (system(certified=False), False),
        (system(suspended=True), False),
        (system(approved_regions=["Region Annan"]), False),
    ],
    ids=["approved", "unknown system", "not certified", "suspended", "approved for another region only"],
)
def test_through_an_integrated_system_it_must_be_approved_for_the_units_region(
    grant: SystemGrant | None, allowed: bool
) -> None:
    decision = decide(
        Action.REGISTER_FEE,
        region=SERVED,
        acting_unit=ACTING,
        employee=employee(U),
        system=grant,
        through_system=True,
        today=TODAY,
    )
    assert decision.allowed is allowed
    if not allowed:
        assert (decision.denial, decision.field) == (Denial.SYSTEM_NOT_APPROVED, "system_id")


@pytest.mark.parametrize("action", list(Action))
def test_acting_for_a_unit_of_another_region_is_refused_for_every_action_whatever_the_role(action: Action) -> None:
    for role in AccessRole:
        decision = decide(
            action, region=SERVED, acting_unit=ACTING_ELSEWHERE, employee=employee(role, unit=ACTING_ELSEWHERE)
        )
        assert (decision.denial, decision.field) == (Denial.REGION_NOT_SERVED, "care_unit")
        assert "Region Annan" in decision.message and SERVED in decision.message


def test_even_an_approved_system_does_not_carry_a_unit_of_another_region_in() -> None:
    everywhere = system(approved_regions=[SERVED, "Region Annan"])
    decision = decide(
        Action.REGISTER_FEE,
        region=SERVED,
        acting_unit=ACTING_ELSEWHERE,
        employee=employee(U, unit=ACTING_ELSEWHERE),
        system=everywhere,
        through_system=True,
        today=TODAY,
    )
    assert decision.denial == Denial.REGION_NOT_SERVED
