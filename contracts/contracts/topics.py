"""The topic catalogue: every topic's name, size and retention, written down once.

Services create these topics at start-up; the brokers never auto-create them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

PATIENT_PARTITIONS = 12
"""Patient streams are split 12 ways: the most consumer-group members any service can use."""


def dead_letter_name(topic_name: str) -> str:
    return f"{topic_name}.dlq"


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
            name=dead_letter_name(self.name),
            partitions=1,
            key=self.key,
            description=f"Messages from {self.name} that could not be processed, with the error in headers.",
            retention_ms=90 * 24 * 3600 * 1000,
        )

    @property
    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


INTERNAL_FEE_OUTCOMES = Topic(
    name="efrikort.internal-fee-outcomes.v1",
    partitions=PATIENT_PARTITIONS,
    key="submission_id",
    description="Every outcome, inside e-frikort only: what registration answers HTTP requests and re-sends "
    "with. No integrated system may read or write it; each reads its own "
    "efrikort.systems.<system-id>.fee-outcomes.v1.",
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
    INTERNAL_FEE_OUTCOMES,
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


SYSTEM_TOPIC_PREFIX = "efrikort.systems."
"""Every integrated system's own topics start so; nothing else does."""


@dataclass(frozen=True)
class SystemTopic:
    """A topic every integrated system has a copy of, `efrikort.systems.<system-id>.<stream>.v<major>`.

    The system is the topic: whoever can write a system's submissions topic is that system (the broker's
    ACLs let no one else), so the system a message comes from is read from the topic it arrived on,
    never from a claim in its body. Access creates a system's copies when it approves the system.
    """

    stream: str
    major: int
    partitions: int
    key: str
    description: str
    messages: tuple[str, ...]
    retention_ms: int = 7 * 24 * 3600 * 1000

    @property
    def name(self) -> str:
        """The name with a placeholder for the system: how documents, metrics and tables show it."""
        return f"{SYSTEM_TOPIC_PREFIX}<system-id>.{self.stream}.v{self.major}"

    @property
    def pattern(self) -> str:
        """A regular expression matching every system's copy (and no dead-letter topic)."""
        return re.escape(SYSTEM_TOPIC_PREFIX) + r"[^.]+" + re.escape(f".{self.stream}.v{self.major}") + "$"

    def of(self, system_id: str) -> Topic:
        """The system's own copy."""
        if not SYSTEM_ID.fullmatch(system_id):
            raise ValueError("not an HSA-ID a topic can be named after")
        return Topic(
            name=f"{SYSTEM_TOPIC_PREFIX}{system_id}.{self.stream}.v{self.major}",
            partitions=self.partitions,
            key=self.key,
            description=self.description,
            retention_ms=self.retention_ms,
            messages=self.messages,
        )

    def system_of(self, topic_name: str) -> str | None:
        """The system whose copy `topic_name` is, or None if it is no copy of this topic."""
        if not re.fullmatch(self.pattern, topic_name):
            return None
        return topic_name.removeprefix(SYSTEM_TOPIC_PREFIX).rsplit(f".{self.stream}.", 1)[0]


SYSTEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""What an HSA-ID may be to name a topic: Kafka's topic characters without the dot, which separates."""

SYSTEM_PARTITIONS = 6
"""Per system: enough for registration's replicas to share one busy system's submissions."""

SYSTEM_FEE_SUBMISSIONS = SystemTopic(
    stream="fee-submissions",
    major=1,
    partitions=SYSTEM_PARTITIONS,
    key="submission_id (as chosen by the sender)",
    description="An integrated system's fee registrations (integration contract v2); only that system may "
    "write it, and the system is the topic: a body naming another system is rejected (system_not_caller).",
    messages=("FeeSubmission",),
)
SYSTEM_FEE_OUTCOMES = SystemTopic(
    stream="fee-outcomes",
    major=1,
    partitions=SYSTEM_PARTITIONS,
    key="submission_id",
    description="Exactly one outcome per submission the system sent on its own submissions topic: accepted "
    "with the amount due, or rejected with reasons. Only that system may read it.",
    messages=("FeeOutcome",),
)

SYSTEM_TOPICS: tuple[SystemTopic, ...] = (SYSTEM_FEE_SUBMISSIONS, SYSTEM_FEE_OUTCOMES)
"""The integration contract's topics: each integrated system has its own pair."""
