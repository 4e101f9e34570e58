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
    description="Fees as registered, each version of each fee.",
    messages=("FeeRegistered",),
)
FREE_CARDS = Topic(
    name="efrikort.free-cards.v1",
    partitions=PATIENT_PARTITIONS,
    key="patient_key",
    description="Free cards (frikort) issued, moved and revoked.",
    messages=("FreeCardIssued",),
)

CATALOGUE: tuple[Topic, ...] = (FEE_SUBMISSIONS, FEE_OUTCOMES, FEES, FREE_CARDS)
