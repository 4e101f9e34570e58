"""Who may do what: the roles of DOMAIN.md as one decision, read by every service that decides.

The access service publishes the facts (grants); registration, protection and the web application
decide from their read models of them with this one function, so that an answer and its reason are
the same everywhere. Plain Python: no Kafka, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from contracts.access_events import AccessRole, CareUnitGrant, EmployeeGrant, SystemGrant
from contracts.clock import today_in_sweden


class Action(StrEnum):
    READ_PROTECTION = "protection.read"
    """Look up a patient's status and extract."""
    REGISTER_FEE = "fee.register"
    CORRECT_FEE = "fee.correct"
    DELETE_FEE = "fee.delete"
    CHANGE_FREE_CARD = "free_card.change"
    MARK_OVERCHARGE_REFUNDED = "overcharge.refund"
    PATIENT_EXIT = "patient.exit"
    """Utträde and återinträde."""
    READ_AUDIT_TRAIL = "audit.read"
    """Who looked at a patient's data: central support, on the patient's request."""
    MANAGE_ACCESS = "access.manage"
    """Agreements, integrated systems and directory imports."""
    CHANGE_CONTACT_DETAILS = "contact.change"
    """Set how and where a patient is told: the desk that registers fees, and the region's staff.
    Reading them is `READ_PROTECTION`, as looking up the patient's status is."""
    MANAGE_NOTICES = "notice.manage"
    """See the notices to patients that failed, and send them again: central support's work."""


class Denial(StrEnum):
    """Why not: each is also a rejection code of the integration contract."""

    UNKNOWN_CARE_UNIT = "unknown_care_unit"
    NO_AGREEMENT = "no_agreement"
    NO_COMMISSION = "no_commission"
    NO_ROLE = "no_role"
    ROLE_NOT_PERMITTED = "role_not_permitted"
    OTHER_PROVIDER = "other_provider"
    OTHER_REGION = "other_region"
    REGION_NOT_SERVED = "region_not_served"
    """The unit acted for is of another region than the one this deployment serves."""
    SYSTEM_NOT_APPROVED = "system_not_approved"


_ROLE_ACTIONS: dict[AccessRole, frozenset[Action]] = {
    AccessRole.LIMITED_USER: frozenset({Action.READ_PROTECTION}),
    AccessRole.USER: frozenset(
        {
            Action.READ_PROTECTION,
            Action.REGISTER_FEE,
            Action.CORRECT_FEE,
            Action.DELETE_FEE,
            Action.MARK_OVERCHARGE_REFUNDED,
            Action.CHANGE_CONTACT_DETAILS,
        }
    ),
    AccessRole.ADMINISTRATOR: frozenset(
        {
            Action.READ_PROTECTION,
            Action.REGISTER_FEE,
            Action.CORRECT_FEE,
            Action.DELETE_FEE,
            Action.MARK_OVERCHARGE_REFUNDED,
            Action.CHANGE_FREE_CARD,
            Action.CHANGE_CONTACT_DETAILS,
        }
    ),
    AccessRole.SUPERUSER: frozenset(Action),
}

_REGION_WIDE: frozenset[AccessRole] = frozenset({AccessRole.ADMINISTRATOR, AccessRole.SUPERUSER})
"""Roles that may act on any provider's fees in their region; the others only on their own provider's."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    denial: Denial | None = None
    message: str = ""
    field: str | None = None
    acting_unit: str | None = None
    """Allowed for an HTTP caller: the unit they act for (named, or the first of theirs that allows it),
    which the audit log names."""

    @classmethod
    def allow(cls) -> Decision:
        return cls(True)

    @classmethod
    def deny(cls, denial: Denial, message: str, field: str | None = None) -> Decision:
        return cls(False, denial, message, field)


def decide(
    action: Action,
    *,
    region: str,
    acting_unit: CareUnitGrant | None,
    employee: EmployeeGrant | None,
    target_unit: CareUnitGrant | None = None,
    system: SystemGrant | None = None,
    through_system: bool = False,
    today: date | None = None,
) -> Decision:
    """May this employee, acting for `acting_unit` (and through `system`, if any), do `action` on
    something that belongs to `target_unit` (the fee's unit; the acting unit when omitted), in the
    deployment that serves `region`?

    The order of the checks is the order of the reasons a person can act on: the unit, its region,
    the provider's agreement, the system's approval, the commission, the role, and then the reach.
    A deployment serves one region: whoever acts for a unit of another region may do nothing here,
    whatever their role and whatever agreement their provider holds with their own region.

    A commission whose `commission_valid_to` has passed counts as ended even before the access
    service has published the grant again: `today` (Swedish date; now when omitted) decides.
    """
    if acting_unit is None or not acting_unit.active:
        return Decision.deny(Denial.UNKNOWN_CARE_UNIT, "the care unit is not known to e-frikort", "care_unit")
    if acting_unit.region != region:
        return Decision.deny(
            Denial.REGION_NOT_SERVED,
            f"the care unit is of {acting_unit.region}; this service serves {region}",
            "care_unit",
        )
    if not acting_unit.agreement_signed:
        return Decision.deny(
            Denial.NO_AGREEMENT, "the unit's care provider has no signed e-frikort agreement", "care_unit"
        )
    if through_system and (
        system is None or not system.certified or system.suspended or acting_unit.region not in system.approved_regions
    ):
        return Decision.deny(
            Denial.SYSTEM_NOT_APPROVED, "the integrated system is not approved for the unit's region", "system_id"
        )
    if employee is None or not employee.commission_active or _ended(employee, today or today_in_sweden()):
        return Decision.deny(
            Denial.NO_COMMISSION, "the employee holds no active commission at the unit", "registered_by"
        )
    if employee.role is None:
        return Decision.deny(Denial.NO_ROLE, "the employee has no e-frikort role at the unit", "registered_by")
    if action not in _ROLE_ACTIONS[employee.role]:
        return Decision.deny(
            Denial.ROLE_NOT_PERMITTED, f"the role {employee.role.value} may not do {action.value}", "registered_by"
        )
    target = target_unit or acting_unit
    if target.region != acting_unit.region:
        return Decision.deny(Denial.OTHER_REGION, "the fee belongs to another region", "care_unit")
    if target.care_provider != acting_unit.care_provider and employee.role not in _REGION_WIDE:
        return Decision.deny(Denial.OTHER_PROVIDER, "the fee belongs to another care provider", "care_unit")
    return Decision.allow()


def _ended(employee: EmployeeGrant, today: date) -> bool:
    return employee.commission_valid_to is not None and employee.commission_valid_to < today
