"""A fee (avgift) and its versions: registered, corrected (rättelse), deleted (makulerad).

Nothing is overwritten: each change is a new version holding the whole fee as it then stands, and
the earlier versions stay. Plain Python: no Kafka, no SQL.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from contracts.fee_events import FeeCorrected, FeeDeleted, FeeRegistered
from contracts.integration import FeeSource


class Change(StrEnum):
    REGISTERED = "registered"
    CORRECTED = "corrected"
    DELETED = "deleted"


@dataclass(frozen=True)
class Correction:
    """What a correction may change; None leaves the value as it is."""

    fee_amount: int | None = None
    paid_amount: int | None = None
    visit_date: date | None = None
    fee_type: str | None = None
    reason: str | None = None

    def changes_anything(self, fee: FeeVersion) -> bool:
        return any(
            value is not None and value != getattr(fee, name)
            for name, value in (
                ("fee_amount", self.fee_amount),
                ("paid_amount", self.paid_amount),
                ("visit_date", self.visit_date),
                ("fee_type", self.fee_type),
            )
        )


@dataclass(frozen=True)
class FeeVersion:
    """One version of a fee, whole."""

    fee_id: UUID
    version: int
    submission_id: str
    system_id: str | None
    patient_key: str
    birth_date: date
    visit_date: date
    care_unit: str
    registered_by: str
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    source: FeeSource
    receipt_issuer: str | None
    registered_at: datetime
    change: Change = Change.REGISTERED
    changed_by: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None
    deleted: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FeeVersion:
        names = {field.name for field in dataclasses.fields(cls)}
        values = {name: value for name, value in row.items() if name in names}
        values["source"] = FeeSource(values["source"])
        values["change"] = Change(values["change"])
        return cls(**values)

    def as_row(self) -> dict[str, Any]:
        # Shallow on purpose: `dataclasses.asdict` deep-copies every value, and that was the most
        # expensive step of storing a batch of submissions.
        row = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        row["source"] = self.source.value
        row["change"] = self.change.value
        return row

    def corrected(self, correction: Correction, by: str, at: datetime) -> FeeVersion:
        """The next version, with the corrected values."""
        return dataclasses.replace(
            self,
            version=self.version + 1,
            fee_amount=self.fee_amount if correction.fee_amount is None else correction.fee_amount,
            paid_amount=self.paid_amount if correction.paid_amount is None else correction.paid_amount,
            visit_date=correction.visit_date or self.visit_date,
            fee_type=correction.fee_type or self.fee_type,
            change=Change.CORRECTED,
            changed_by=by,
            changed_at=at,
            reason=correction.reason,
        )

    def deletion(self, by: str, at: datetime, reason: str | None) -> FeeVersion:
        """The next version: the same fee, marked deleted."""
        return dataclasses.replace(
            self,
            version=self.version + 1,
            change=Change.DELETED,
            changed_by=by,
            changed_at=at,
            reason=reason,
            deleted=True,
        )

    def _fee_fields(self) -> dict[str, Any]:
        return {
            "fee_id": self.fee_id,
            "version": self.version,
            "submission_id": self.submission_id,
            "system_id": self.system_id,
            "patient_key": self.patient_key,
            "birth_date": self.birth_date,
            "visit_date": self.visit_date,
            "care_unit": self.care_unit,
            "registered_by": self.registered_by,
            "fee_type": self.fee_type,
            "fee_amount": self.fee_amount,
            "paid_amount": self.paid_amount,
            "source": self.source,
            "receipt_issuer": self.receipt_issuer,
            "registered_at": self.registered_at,
        }

    def event(self, *, on_system_topic: bool = False) -> FeeRegistered | FeeCorrected | FeeDeleted:
        """The fee event this version is published as; `on_system_topic`: it answers a submission an
        integrated system sent on its own topic, which protection answers on the system's outcome topic."""
        if self.change is Change.REGISTERED:
            return FeeRegistered(**self._fee_fields(), sent_on_system_topic=on_system_topic)
        assert self.changed_by is not None and self.changed_at is not None
        if self.change is Change.CORRECTED:
            return FeeCorrected(
                **self._fee_fields(), corrected_by=self.changed_by, corrected_at=self.changed_at, reason=self.reason
            )
        return FeeDeleted(
            fee_id=self.fee_id,
            version=self.version,
            patient_key=self.patient_key,
            care_unit=self.care_unit,
            deleted_by=self.changed_by,
            deleted_at=self.changed_at,
            reason=self.reason,
        )
