"""Fee submissions for tests, in the integration contract's own JSON."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from efrikort.bench import synthetic_patients

# Valid identity numbers (Luhn-checked) that belong to nobody: test numbers in the form of real ones.
PATIENT_1985 = "19850412-1230"


def new_patient() -> str:
    """A fresh valid identity number, so tests never share a ledger."""
    return synthetic_patients(1, seed=uuid.uuid4().int)[0]


def submission(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "submission_id": str(uuid.uuid4()),
        "system_id": "SE2321000016-SYS1",
        "patient_id": PATIENT_1985,
        "visit_date": date(2025, 4, 25).isoformat(),
        "care_unit": "SE2321000016-U001",
        "registered_by": "SE2321000016-E001",
        "fee_type": "doctor_visit",
        "fee_amount": 300,
        "paid_amount": 300,
        "source": "visit",
    }
    base.update(overrides)
    return base
