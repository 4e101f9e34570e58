"""Writing to the audit log (loggning enligt patientdatalagen): every read and change of a patient's data.

Each service emits an `AuditEntry` in the same transaction as what it records, so an access that
happened is never missing from the log; the access service collects them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.events import AuditEntry
from contracts.topics import AUDIT
from runtime.identity import Caller
from runtime.transaction import Transaction


async def record_access(
    tx: Transaction,
    *,
    patient_key: str,
    actor: str,
    action: str,
    system_id: str | None = None,
    care_unit: str | None = None,
    subject: str | None = None,
) -> None:
    await tx.emit(
        AUDIT,
        patient_key,
        AuditEntry(
            patient_key=patient_key,
            actor=actor,
            system_id=system_id,
            care_unit=care_unit,
            action=action,
            service=tx.producer,
            subject=subject,
            occurred_at=datetime.now(UTC),
        ),
    )


async def audit_caller(
    tx: Transaction,
    caller: Caller,
    *,
    patient_key: str,
    care_unit: str | None,
    action: str,
    subject: str | None = None,
) -> None:
    """What an HTTP caller read or changed: who, through which system, acting for which unit."""
    await record_access(
        tx,
        patient_key=patient_key,
        actor=caller.hsa_id,
        system_id=caller.system_id,
        care_unit=care_unit,
        action=action,
        subject=subject,
    )
