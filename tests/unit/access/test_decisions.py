"""Who may do what (DOMAIN.md, access roles): every role x action x reach, with the expected answer.

Reach is where the thing acted on belongs, seen from the unit the employee acts for: the own care
provider, another provider in the same region, or another region.
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

OWN, OTHER_PROV, OTHER_REG = "own provider", "other provider, same region", "other region"
REACH = {OWN: SAME_PROVIDER, OTHER_PROV: OTHER_PROVIDER, OTHER_REG: OTHER_REGION}

YES = "allowed"
NOT_ROLE = Denial.ROLE_NOT_PERMITTED
NOT_PROV = Denial.OTHER_PROVIDER
NOT_REG = Denial.OTHER_REGION

L, U, A, S = AccessRole.LIMITED_USER, AccessRole.USER, AccessRole.ADMINISTRATOR, AccessRole.SUPERUSER

# (own provider, other provider in the region, other region)
TABLE: dict[tuple[AccessRole, Action], tuple[str, str, str]] = {
    # BegränsadAnvändare: look up status only, for the own provider.
    (L, Action.READ_PROTECTION): (YES, NOT_PROV, NOT_REG),
    (L, Action.REGISTER_FEE): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.CORRECT_FEE): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.DELETE_FEE): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.MARK_OVERCHARGE_REFUNDED): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.CHANGE_FREE_CARD): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.PATIENT_EXIT): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.READ_AUDIT_TRAIL): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.MANAGE_ACCESS): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.CHANGE_CONTACT_DETAILS): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (L, Action.MANAGE_NOTICES): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    # Användare: register, correct and delete the own provider's fees.
    (U, Action.READ_PROTECTION): (YES, NOT_PROV, NOT_REG),
    (U, Action.REGISTER_FEE): (YES, NOT_PROV, NOT_REG),
    (U, Action.CORRECT_FEE): (YES, NOT_PROV, NOT_REG),
    (U, Action.DELETE_FEE): (YES, NOT_PROV, NOT_REG),
    (U, Action.MARK_OVERCHARGE_REFUNDED): (YES, NOT_PROV, NOT_REG),
    (U, Action.CHANGE_FREE_CARD): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (U, Action.PATIENT_EXIT): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (U, Action.READ_AUDIT_TRAIL): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (U, Action.MANAGE_ACCESS): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (U, Action.CHANGE_CONTACT_DETAILS): (YES, NOT_PROV, NOT_REG),
    (U, Action.MANAGE_NOTICES): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    # Administratör: any fee and any free card in the region, but not patient exit.
    (A, Action.READ_PROTECTION): (YES, YES, NOT_REG),
    (A, Action.REGISTER_FEE): (YES, YES, NOT_REG),
    (A, Action.CORRECT_FEE): (YES, YES, NOT_REG),
    (A, Action.DELETE_FEE): (YES, YES, NOT_REG),
    (A, Action.MARK_OVERCHARGE_REFUNDED): (YES, YES, NOT_REG),
    (A, Action.CHANGE_FREE_CARD): (YES, YES, NOT_REG),
    (A, Action.PATIENT_EXIT): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (A, Action.READ_AUDIT_TRAIL): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (A, Action.MANAGE_ACCESS): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    (A, Action.CHANGE_CONTACT_DETAILS): (YES, YES, NOT_REG),
    (A, Action.MANAGE_NOTICES): (NOT_ROLE, NOT_ROLE, NOT_ROLE),
    # Superanvändare: everything in the region: patient exit and re-entry, the audit trail, agreements and systems.
    (S, Action.READ_PROTECTION): (YES, YES, NOT_REG),
    (S, Action.REGISTER_FEE): (YES, YES, NOT_REG),
    (S, Action.CORRECT_FEE): (YES, YES, NOT_REG),
    (S, Action.DELETE_FEE): (YES, YES, NOT_REG),
    (S, Action.MARK_OVERCHARGE_REFUNDED): (YES, YES, NOT_REG),
    (S, Action.CHANGE_FREE_CARD): (YES, YES, NOT_REG),
    (S, Action.PATIENT_EXIT): (YES, YES, NOT_REG),
    (S, Action.READ_AUDIT_TRAIL): (YES, YES, NOT_REG),
    (S, Action.MANAGE_ACCESS): (YES, YES, NOT_REG),
    (S, Action.CHANGE_CONTACT_DETAILS): (YES, YES, NOT_REG),
    (S, Action.MANAGE_NOTICES): (YES, YES, NOT_REG),
}

CASES = [
    pytest.param(role, action, reach, expected, id=f"{role.value} {action.value} {reach}")
    for (role, action), answers in TABLE.items()
    for reach, expected in zip((OWN, OTHER_PROV, OTHER_REG), answers, strict=True)
]


def employee(role: AccessRole | None = U, *, active: bool = True, valid_to: date | None = None) -> EmployeeGrant:
    return EmployeeGrant(
        employee="E-1",
        care_unit=ACTING.care_unit,
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
    decision = decide(action, acting_unit=ACTING, employee=employee(role), target_unit=REACH[reach], today=TODAY)
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
    decision = decide(Action.READ_PROTECTION, acting_unit=acting_unit, employee=employee(S), today=TODAY)
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
    decision = decide(Action.REGISTER_FEE, acting_unit=ACTING, employee=grant, today=TODAY)
    assert decision.denial == expected
    assert decision.field == "registered_by"


def test_a_commission_valid_through_today_still_counts() -> None:
    decision = decide(Action.REGISTER_FEE, acting_unit=ACTING, employee=employee(U, valid_to=TODAY), today=TODAY)
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
        Action.REGISTER_FEE, acting_unit=ACTING, employee=employee(U), system=grant, through_system=True, today=TODAY
    )
    assert decision.allowed is allowed
    if not allowed:
        assert (decision.denial, decision.field) == (Denial.SYSTEM_NOT_APPROVED, "system_id")
