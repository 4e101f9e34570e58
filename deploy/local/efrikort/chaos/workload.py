"""What the chaos run sends: many patients' fees, late and out of order, some refused, and the
corrections and deletions made to some of them once they are registered. Reproducible from a seed.

Plain Python: the client sends it, the checker compares what the system made of it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from contracts.fee_types import FEE_TYPES
from contracts.identity import with_check_digit

CHAOS_SYSTEM = "SE2321000016-CHAOS"
CHAOS_PROVIDER = "SE2321000016-PCHAOS"
CHAOS_UNITS = ("SE2321000016-UCHAOS1", "SE2321000016-UCHAOS2", "SE2321000016-UCHAOS3")
CHAOS_EMPLOYEE = "SE2321000016-ECHAOS"

FEES_PER_PATIENT = 20
"""On average: enough for most patients to reach the ceiling, some more than once, over two years."""
HISTORY_DAYS = 720
"""How far back the visits go: periods start, roll and run out within it."""
COUNTING = sorted(code for code, fee_type in FEE_TYPES.items() if fee_type.counting and "receipt" not in code)
NOT_COUNTING = sorted(code for code, fee_type in FEE_TYPES.items() if not fee_type.counting)
RECEIPTS = sorted(code for code in FEE_TYPES if code.startswith("receipt_"))
AMOUNTS = (100, 150, 200, 250, 300, 350, 400)


class ChangeKind(StrEnum):
    CORRECTION = "correction"
    DELETION = "deletion"


@dataclass(frozen=True)
class Change:
    """A correction (rättelse) or deletion made to a registered fee, over HTTP as the registering system."""

    kind: ChangeKind
    body: dict[str, Any] = field(default_factory=dict)
    """The correction's values (none for a deletion)."""


@dataclass(frozen=True)
class Planned:
    """One submission and what is expected of it."""

    index: int
    patient: int
    """The patient's index in the run (its identity number is never printed)."""
    document: dict[str, Any]
    accepted: bool
    """Valid and sent by an authorized system: accepted; else it is refused (a future visit date)."""
    change: Change | None = None

    @property
    def submission_id(self) -> str:
        return str(self.document["submission_id"])


@dataclass(frozen=True)
class Workload:
    patients: list[str]
    """Identity numbers, by patient index."""
    submissions: list[Planned]
    """In the order they are sent: shuffled, so fees arrive late and out of visit-date order."""

    @property
    def changes(self) -> int:
        return sum(1 for planned in self.submissions if planned.change is not None)


def chaos_patients(count: int, rng: random.Random, today: date) -> list[str]:
    """Identity numbers: mostly adults, some children (free below the region's age limit) and some who
    turn 85 within the history (free from that day on)."""
    numbers: set[str] = set()
    while len(numbers) < count:
        roll = rng.random()
        if roll < 0.05:
            birth = today - timedelta(days=rng.randrange(16 * 365, 19 * 365))  # turns 18 within the history
        elif roll < 0.08:
            birth = today - timedelta(days=rng.randrange(int(84.5 * 365), 86 * 365))  # turns 85
        else:
            birth = today - timedelta(days=rng.randrange(20 * 365, 80 * 365))
        numbers.add(with_check_digit(birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"))
    return sorted(numbers)


def fee_document(rng: random.Random, patient_id: str, today: date) -> dict[str, Any]:
    """A valid submission: a visit in the last two years, at one of the units, mostly counting, paid in
    full at the desk or left to be paid as assessed."""
    roll = rng.random()
    fee_type = rng.choice(NOT_COUNTING) if roll < 0.1 else rng.choice(RECEIPTS) if roll < 0.2 else rng.choice(COUNTING)
    amount = rng.choice(AMOUNTS)
    document: dict[str, Any] = {
        "submission_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "system_id": CHAOS_SYSTEM,
        "patient_id": patient_id,
        "visit_date": (today - timedelta(days=rng.randrange(HISTORY_DAYS))).isoformat(),
        "care_unit": rng.choice(CHAOS_UNITS),
        "registered_by": CHAOS_EMPLOYEE,
        "fee_type": fee_type,
        "fee_amount": amount,
        "source": "visit",
    }
    if rng.random() < 0.5:
        document["paid_amount"] = amount
    if fee_type in RECEIPTS:
        document |= {"source": "receipt", "receipt_issuer": "Region Annanstans"}
    return document


def change_of(rng: random.Random, document: dict[str, Any]) -> Change | None:
    """About 5 % of fees corrected (amount, or visit date moved earlier), 3 % deleted."""
    roll = rng.random()
    if roll < 0.03:
        return Change(ChangeKind.DELETION)
    if roll >= 0.08:
        return None
    if rng.random() < 0.5:
        moved = date.fromisoformat(document["visit_date"]) - timedelta(days=rng.randrange(1, 90))
        return Change(ChangeKind.CORRECTION, {"visit_date": moved.isoformat(), "reason": "fel datum"})
    amount = rng.choice([a for a in AMOUNTS if a != document["fee_amount"]])
    body: dict[str, Any] = {"fee_amount": amount, "reason": "fel belopp"}
    if "paid_amount" in document:
        body["paid_amount"] = amount
    return Change(ChangeKind.CORRECTION, body)


def chaos_workload(submissions: int, seed: int, today: date) -> Workload:
    """`submissions` fees over `submissions / FEES_PER_PATIENT` patients, shuffled; about 1 % refused
    (a visit date in the future), and some of the others corrected or deleted once registered."""
    rng = random.Random(seed)
    patients = chaos_patients(max(5, submissions // FEES_PER_PATIENT), rng, today)
    planned: list[Planned] = []
    for index in range(submissions):
        patient = rng.randrange(len(patients))
        document = fee_document(rng, patients[patient], today)
        if rng.random() < 0.01:
            document["visit_date"] = (today + timedelta(days=rng.randrange(1, 30))).isoformat()
            planned.append(Planned(index, patient, document, accepted=False))
            continue
        planned.append(Planned(index, patient, document, accepted=True, change=change_of(rng, document)))
    rng.shuffle(planned)
    return Workload(patients, planned)
