"""Protection's persistence: the fees it has seen per patient, and the free cards it issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import FeeRegistered
from protection.ledger import Fee

_UPSERT_FEE = text(
    "INSERT INTO fees (fee_id, version, patient_key, submission_id, care_unit, birth_date, visit_date, "
    "registered_at, fee_type, fee_amount, paid_amount) VALUES (:fee_id, :version, :patient_key, :submission_id, "
    ":care_unit, :birth_date, :visit_date, :registered_at, :fee_type, :fee_amount, :paid_amount) "
    "ON CONFLICT (fee_id) DO UPDATE SET version = excluded.version, visit_date = excluded.visit_date, "
    "fee_type = excluded.fee_type, fee_amount = excluded.fee_amount, paid_amount = excluded.paid_amount "
    "WHERE fees.version < excluded.version"
)
_PATIENT_FEES = text(
    "SELECT fee_id, visit_date, registered_at, fee_type, fee_amount FROM fees WHERE patient_key = :patient_key"
)
_LOCK_PATIENT = text("SELECT pg_advisory_xact_lock(hashtext(:patient_key))")
_FREE_CARD = text("SELECT number FROM free_cards WHERE patient_key = :patient_key AND period_start = :period_start")
_ADD_FREE_CARD = text(
    "INSERT INTO free_cards (number, patient_key, period_start, valid_from, valid_to) "
    "VALUES (:number, :patient_key, :period_start, :valid_from, :valid_to)"
)


@dataclass(frozen=True)
class StoredFreeCard:
    number: str


async def record_fee(conn: AsyncConnection, fee: FeeRegistered) -> None:
    # One patient's fees are recomputed one change at a time, whichever replica handles them.
    await conn.execute(_LOCK_PATIENT, {"patient_key": fee.patient_key})
    await conn.execute(_UPSERT_FEE, fee.model_dump(mode="python"))


async def patient_fees(conn: AsyncConnection, patient_key: str) -> list[Fee]:
    rows = await conn.execute(_PATIENT_FEES, {"patient_key": patient_key})
    return [Fee(**row._mapping) for row in rows]


async def free_card_number(conn: AsyncConnection, patient_key: str, period_start: date) -> str | None:
    return (await conn.execute(_FREE_CARD, {"patient_key": patient_key, "period_start": period_start})).scalar()


async def add_free_card(
    conn: AsyncConnection, number: str, patient_key: str, period_start: date, valid_from: date, valid_to: date
) -> None:
    await conn.execute(_ADD_FREE_CARD, {"number": number, "patient_key": patient_key, "period_start": period_start,
                                        "valid_from": valid_from, "valid_to": valid_to})
