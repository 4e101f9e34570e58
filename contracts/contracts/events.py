"""Every internal event, gathered from the module of the stream it belongs to.

Patient events carry the pseudonymous patient key, never the identity number.
"""

from __future__ import annotations

from contracts.access_events import (
    AGREEMENT_EVENTS,
    DIRECTORY_EVENTS,
    GRANT_EVENTS,
    PATIENT_MEMBERSHIP_EVENTS,
    AuditEntry,
    CareUnitGrant,
    EmployeeGrant,
    PatientExited,
    PatientReentered,
    SystemGrant,
)
from contracts.envelope import Event
from contracts.fee_events import FEE_EVENTS, FeeCorrected, FeeDeleted, FeeRegistered
from contracts.ledger_events import (
    FREE_CARD_EVENTS,
    OVERCHARGE_EVENTS,
    FreeCardIssued,
    FreeCardMoved,
    FreeCardRevoked,
    OverchargeChanged,
    OverchargeFound,
    OverchargeRefunded,
    PatientStatusChanged,
    UnderchargeRecorded,
)
from contracts.notice_events import NOTICE_EVENTS, NoticeDelivered, NoticeFailed, PatientContactDetails

ALL_EVENTS: tuple[type[Event], ...] = (
    *FEE_EVENTS,
    *FREE_CARD_EVENTS,
    *OVERCHARGE_EVENTS,
    PatientStatusChanged,
    *GRANT_EVENTS,
    AuditEntry,
    *PATIENT_MEMBERSHIP_EVENTS,
    *DIRECTORY_EVENTS,
    *AGREEMENT_EVENTS,
    PatientContactDetails,
    *NOTICE_EVENTS,
)

__all__ = [
    "ALL_EVENTS",
    "AuditEntry",
    "CareUnitGrant",
    "EmployeeGrant",
    "FeeCorrected",
    "FeeDeleted",
    "FeeRegistered",
    "FreeCardIssued",
    "FreeCardMoved",
    "FreeCardRevoked",
    "NoticeDelivered",
    "NoticeFailed",
    "OverchargeChanged",
    "OverchargeFound",
    "OverchargeRefunded",
    "PatientContactDetails",
    "PatientExited",
    "PatientReentered",
    "PatientStatusChanged",
    "SystemGrant",
    "UnderchargeRecorded",
]
