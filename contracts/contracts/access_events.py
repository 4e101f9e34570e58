"""Access events: who may do what (grants), what was done to whose data (audit), and patient exit;
and what the access service is fed: directory (HSA) changes, agreements and integrated systems.

Grants are published by the access service on the compacted `efrikort.access-grants.v1`, one
record per key, the latest winning. They carry the facts a decision needs (is the unit known, has
its provider signed, does the employee hold a commission, which role), so that a reader can say
which one is missing rather than only "no".
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contracts.envelope import Event


class AccessRole(StrEnum):
    """The e-frikort access roles (behörighetsroller) from HSA."""

    LIMITED_USER = "EFK;BegränsadAnvändare"
    """Look up status only."""
    USER = "EFK;Användare"
    """Register, correct and delete the own provider's fees."""
    ADMINISTRATOR = "EFK;Administratör"
    """The region's administrators: change or delete any fee and any free card in the region."""
    SUPERUSER = "EFK;Superanvändare"
    """Central support and cashier: everything, plus patient exit and re-entry."""


class CommissionPurpose(StrEnum):
    """Purpose of a commission (medarbetaruppdrag)."""

    CARE = "Vård och behandling"
    ADMINISTRATION = "Administration"


class CareUnitGrant(Event):
    """A care unit (vårdenhet) as the access service knows it. Key: `unit/<unit HSA-ID>`."""

    event_type: ClassVar[str] = "CareUnitGrant"

    care_unit: str
    care_provider: str
    region: str
    agreement_signed: bool = Field(description="The provider has a signed, unterminated e-frikort agreement.")
    active: bool = Field(description="False when the unit has left the directory: nobody may act for it.")
    changed_at: datetime


class EmployeeGrant(Event):
    """What an employee may do for one unit. Key: `employee/<employee HSA-ID>/<unit HSA-ID>`."""

    event_type: ClassVar[str] = "EmployeeGrant"

    employee: str
    care_unit: str
    commission_active: bool = Field(description="Holds a commission there with an accepted purpose, valid today.")
    commission_valid_to: date | None = None
    role: AccessRole | None = Field(description="The e-frikort role at that unit; None when none.")
    changed_at: datetime


class SystemGrant(Event):
    """An integrated system and the regions it may send for. Key: `system/<system HSA-ID>`."""

    event_type: ClassVar[str] = "SystemGrant"

    system_id: str
    name: str
    certified: bool
    suspended: bool
    approved_regions: list[str] = Field(description="Regions whose approval is in force.")
    changed_at: datetime


# The grants topic's keys: the access service publishes under them, and every read model looks
# grants up by them, so they are part of the topic's contract.


def unit_key(care_unit: str) -> str:
    return f"unit/{care_unit}"


def employee_key(employee: str, care_unit: str) -> str:
    return f"employee/{employee}/{care_unit}"


def system_key(system_id: str) -> str:
    return f"system/{system_id}"


def grant_key(grant: Event) -> str:
    """The key a grant is published under on the grants topic."""
    if isinstance(grant, CareUnitGrant):
        return unit_key(grant.care_unit)
    if isinstance(grant, EmployeeGrant):
        return employee_key(grant.employee, grant.care_unit)
    if isinstance(grant, SystemGrant):
        return system_key(grant.system_id)
    raise TypeError(f"not a grant: {type(grant).__name__}")


class AuditEntry(Event):
    """One read or change of a patient's data (loggning enligt patientdatalagen). Key: the patient key.

    Every service publishes these to `efrikort.audit.v1`; the access service keeps them.
    """

    event_type: ClassVar[str] = "AuditEntry"

    patient_key: str
    actor: str = Field(description="HSA-ID of the person (or system) who did it.")
    system_id: str | None = Field(default=None, description="The integrated system it came through, if any.")
    care_unit: str | None = Field(default=None, description="The unit the actor acted for, if any.")
    action: str = Field(description="What was done, e.g. fee.registered, fee.corrected, protection.read.")
    service: str = Field(description="The service that did it.")
    subject: str | None = Field(default=None, description="What it was done to, e.g. a fee id.")
    occurred_at: datetime


class PatientExited(Event):
    """Utträde: the patient left e-frikort. Every service removes all it holds about the patient key."""

    event_type: ClassVar[str] = "PatientExited"

    patient_key: str
    requested_by: str = Field(description="HSA-ID of central support staff who carried it out.")
    exited_at: datetime


class PatientReentered(Event):
    """Återinträde: the patient joined again. Nothing removed is restored; the ledger starts empty."""

    event_type: ClassVar[str] = "PatientReentered"

    patient_key: str
    requested_by: str
    reentered_at: datetime


class CareProviderChanged(Event):
    """A care provider (vårdgivare) as HSA has it now; `removed` when it left the directory.
    Key: the provider's HSA-ID."""

    event_type: ClassVar[str] = "CareProviderChanged"

    care_provider: str
    name: str = ""
    removed: bool = False


class CareUnitChanged(Event):
    """A care unit (vårdenhet), its provider and region. Key: the unit's HSA-ID."""

    event_type: ClassVar[str] = "CareUnitChanged"

    care_unit: str
    care_provider: str
    region: str
    name: str = ""
    removed: bool = False


class EmployeeChanged(Event):
    """An employee (medarbetare) with a personal HSA-ID. Key: the employee's HSA-ID.

    An employee who leaves the directory loses every right at once, whatever commissions remain."""

    event_type: ClassVar[str] = "EmployeeChanged"

    employee: str
    name: str = ""
    removed: bool = False


class CommissionChanged(Event):
    """A commission (medarbetaruppdrag): an employee may act for a unit for a purpose, from/to a date.
    Key: the employee's HSA-ID, so that one employee's changes stay in order.

    Only the purposes of `CommissionPurpose` give rights in e-frikort; others are kept but count for
    nothing. A commission that ends (`valid_to` passed) or is `removed` takes its rights with it."""

    event_type: ClassVar[str] = "CommissionChanged"

    commission_id: str
    employee: str
    care_unit: str
    purpose: str = Field(description="'Vård och behandling' or 'Administration' give rights; others do not.")
    valid_from: date
    valid_to: date | None = Field(default=None, description="The last day it is valid; None: until further notice.")
    removed: bool = False


class AccessRoleChanged(Event):
    """An e-frikort access role (behörighet) an employee holds at a unit. Key: the employee's HSA-ID."""

    event_type: ClassVar[str] = "AccessRoleChanged"

    employee: str
    care_unit: str
    role: AccessRole
    removed: bool = False


class AgreementSigned(Event):
    """A care provider signed the region's e-frikort agreement. Key: the provider's HSA-ID."""

    event_type: ClassVar[str] = "AgreementSigned"

    care_provider: str
    region: str
    signed_on: date


class AgreementTerminated(Event):
    """The agreement ends: from `terminated_on` the provider's units may no longer register. Key: the provider."""

    event_type: ClassVar[str] = "AgreementTerminated"

    care_provider: str
    terminated_on: date


class IntegratedSystemChanged(Event):
    """An integrated journal or cash system as the regions have judged it. Key: the system's HSA-ID.

    It may send for a region only while certified, not suspended, and approved for that region."""

    event_type: ClassVar[str] = "IntegratedSystemChanged"

    system_id: str
    name: str = ""
    certified: bool
    suspended: bool = False
    approved_regions: list[str] = Field(default_factory=list)


GRANT_EVENTS: tuple[type[Event], ...] = (CareUnitGrant, EmployeeGrant, SystemGrant)
PATIENT_MEMBERSHIP_EVENTS: tuple[type[Event], ...] = (PatientExited, PatientReentered)
DIRECTORY_EVENTS: tuple[type[Event], ...] = (
    CareProviderChanged,
    CareUnitChanged,
    EmployeeChanged,
    CommissionChanged,
    AccessRoleChanged,
)
AGREEMENT_EVENTS: tuple[type[Event], ...] = (AgreementSigned, AgreementTerminated, IntegratedSystemChanged)
