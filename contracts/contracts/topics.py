"""The topic catalogue: every topic's name, size and retention, written down once.

Services create these topics at start-up; the brokers never auto-create them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PATIENT_PARTITIONS = 12
"""Patient streams are split 12 ways: the most consumer-group members any service can use."""


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str
    description: str
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention_ms: int = 7 * 24 * 3600 * 1000
    messages: tuple[str, ...] = field(default=())

    @property
    def dead_letter(self) -> Topic:
        """Where messages that cannot be processed go, with their error (`<topic>.dlq`)."""
        return Topic(
            name=f"{self.name}.dlq",
            partitions=1,
            key=self.key,
            description=f"Messages from {self.name} that could not be processed, with the error in headers.",
            retention_ms=90 * 24 * 3600 * 1000,
        )

    @property
    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


FEE_SUBMISSIONS = Topic(
    name="efrikort.fee-submissions.v1",
    partitions=PATIENT_PARTITIONS,
    key="submission_id (as chosen by the sender)",
    description="Fee registrations from integrated journal and cash systems (integration contract).",
    messages=("FeeSubmission",),
)
FEE_OUTCOMES = Topic(
    name="efrikort.fee-outcomes.v1",
    partitions=PATIENT_PARTITIONS,
    key="submission_id",
    description="Exactly one outcome per submission: accepted with the amount due, or rejected with reasons.",
    messages=("FeeOutcome",),
)
FEES = Topic(
    name="efrikort.fees.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Fees as registered, each version of each fee: registered, corrected, deleted.",
    messages=("FeeRegistered", "FeeCorrected", "FeeDeleted"),
)
FREE_CARDS = Topic(
    name="efrikort.free-cards.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Free cards (frikort) issued, moved and revoked.",
    messages=("FreeCardIssued", "FreeCardMoved", "FreeCardRevoked"),
)
OVERCHARGES = Topic(
    name="efrikort.overcharges.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Overcharges found, changed and refunded, and undercharges recorded, per fee and unit.",
    messages=("OverchargeFound", "OverchargeChanged", "OverchargeRefunded", "UnderchargeRecorded"),
)
PATIENT_STATUS = Topic(
    name="efrikort.patient-status.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Where each patient stands in the high-cost protection; compacted, the latest per patient.",
    cleanup_policy="compact",
    retention_ms=-1,
    messages=("PatientStatusChanged",),
)
ACCESS_GRANTS = Topic(
    name="efrikort.access-grants.v1",
    partitions=3,
    key="unit/<unit>, employee/<employee>/<unit> or system/<system>",
    description="Effective rights from the HSA mirror, agreements and system approvals; compacted, latest per key.",
    cleanup_policy="compact",
    retention_ms=-1,
    messages=("CareUnitGrant", "EmployeeGrant", "SystemGrant"),
)
AUDIT = Topic(
    name="efrikort.audit.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Every read and change of a patient's data, from every service, collected by access.",
    retention_ms=30 * 24 * 3600 * 1000,
    messages=("AuditEntry",),
)
PATIENT_MEMBERSHIP = Topic(
    name="efrikort.patient-membership.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Patient exit (utträde) and re-entry (återinträde); on exit every service removes the patient's data.",
    retention_ms=30 * 24 * 3600 * 1000,
    messages=("PatientExited", "PatientReentered"),
)
DIRECTORY = Topic(
    name="efrikort.directory.v1",
    partitions=3,
    key="the HSA-ID the change is about; for commissions and roles the employee's",
    description="Changes from the HSA directory: providers, units, employees, commissions and e-frikort roles.",
    retention_ms=30 * 24 * 3600 * 1000,
    messages=("CareProviderChanged", "CareUnitChanged", "EmployeeChanged", "CommissionChanged", "AccessRoleChanged"),
)
AGREEMENTS = Topic(
    name="efrikort.agreements.v1",
    partitions=3,
    key="care provider or system HSA-ID",
    description="E-frikort agreements signed and terminated by care providers; integrated systems certified, "
    "approved for regions, suspended.",
    retention_ms=30 * 24 * 3600 * 1000,
    messages=("AgreementSigned", "AgreementTerminated", "IntegratedSystemChanged"),
)
PATIENT_CONTACTS = Topic(
    name="efrikort.patient-contacts.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="How each patient wants notices: channel, language, addresses; compacted, the latest per patient.",
    cleanup_policy="compact",
    retention_ms=-1,
    messages=("PatientContactDetails",),
)
NOTICES = Topic(
    name="efrikort.notices.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Notices to patients delivered to their channel, or failed after their attempts.",
    messages=("NoticeDelivered", "NoticeFailed"),
)

CATALOGUE: tuple[Topic, ...] = (
    FEE_SUBMISSIONS,
    FEE_OUTCOMES,
    FEES,
    FREE_CARDS,
    OVERCHARGES,
    PATIENT_STATUS,
    ACCESS_GRANTS,
    AUDIT,
    PATIENT_MEMBERSHIP,
    DIRECTORY,
    AGREEMENTS,
    PATIENT_CONTACTS,
    NOTICES,
)
