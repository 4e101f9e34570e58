"""Fee submissions for tests, in the integration contract's own JSON."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from access.system_topics import provide_topics
from contracts.integration import MAX_FEE_AMOUNT
from contracts.topics import SYSTEM_FEE_OUTCOMES, SYSTEM_FEE_SUBMISSIONS
from efrikort.bench import synthetic_patients
from efrikort.kafka_principals import admin_client_options

# Valid identity numbers (Luhn-checked) that belong to nobody: test numbers in the form of real ones.
PATIENT_1985 = "19850412-1230"

EXAMPLE_SYSTEM = "SE2321000016-SYS1"
"""The sample directory's approved system, the one `submission()` sends through."""


def submissions_topic(system_id: str = EXAMPLE_SYSTEM) -> str:
    """Where the system sends its fees; the tests' own clients (the admin user) write it in its place."""
    return SYSTEM_FEE_SUBMISSIONS.of(system_id).name


def outcomes_topic(system_id: str = EXAMPLE_SYSTEM) -> str:
    """Where the system reads its outcomes."""
    return SYSTEM_FEE_OUTCOMES.of(system_id).name


async def provide_system_topics(bootstrap: str, *system_ids: str) -> None:
    """The systems' topics, with registration's and protection's rights on them, as access makes them for
    a system it approves: for a test system access does not approve, standing in for one that had its
    topics before it lost its approval. Registration finds a new topic within a few seconds
    (`runtime.service.METADATA_MAX_AGE_MS`)."""
    options = admin_client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    await admin.start()
    try:
        for system_id in system_ids:
            await provide_topics(admin, system_id, bootstrap_servers=bootstrap, client_options=options)
    finally:
        await admin.close()


def new_patient() -> str:
    """A fresh valid identity number, so tests never share a ledger."""
    return synthetic_patients(1, seed=uuid.uuid4().int)[0]


def submission(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "submission_id": str(uuid.uuid4()),
        "system_id": EXAMPLE_SYSTEM,
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


def without_paid_amount(document: dict[str, Any]) -> dict[str, Any]:
    """The submission of a desk that charges what the outcome says is due (`paid_amount` left out)."""
    return {k: v for k, v in document.items() if k != "paid_amount"}


ODD_FIELD_VALUES: dict[str, list[Any]] = {
    "patient_id": [
        "١٩٨٥٠٤١٢-١٢٣٠",
        "１９８５０４１２-１２３０",
        "19850412-1230\n",
        " 19850412-1230",
        "19850412-1230\x00",
    ],
    "visit_date": ["2018-12-31", "0001-01-01", "9999-12-31", "٢٠٢٥-٠٤-٢٥", "2025-04-25\n", 20250425],
    "fee_amount": [2**31, -(2**63), 10**40, MAX_FEE_AMOUNT, MAX_FEE_AMOUNT + 1, 1e400, [300]],
    "paid_amount": [2**31, 10**40, MAX_FEE_AMOUNT + 1, -1],
    "care_unit": ["SE2321000016-U001\x00", "\u0085", "\ud800", "U" * 300, None],
    "submission_id": ["a\x00b", "", "x" * 101, "\ud800", ["id"], 7],
    "receipt_issuer": ["\x00", "x" * 300, {"a": [[[[[[[[[[1]]]]]]]]]]}],
    "source": ["receipt", "fax", None],
}
"""What an integrator might write in a field: each is refused naming the field, or (an id that cannot be
read) dead-lettered."""
