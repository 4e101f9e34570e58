"""Protection's persistence: every fee version seen, the ledger's inputs per patient, free cards,
overcharges, undercharges and the status last published. Statements work on whole batches of
patients, so that a poll of a few hundred fee events costs a handful of round trips."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import FeeCorrected, FeeDeleted, FeeRegistered
from protection.free_cards import CardIssued, CardMoved, CardRevoked, IssuedCard
from protection.ledger import Checkpoint, Fee, FreeCard, ReplayPosition
from protection.ledger_changes import PatientChanges, status_document
from protection.overcharges import Overcharge, OverchargeChanged, OverchargeFound, OverchargeState
from protection.recompute import PatientHistory, overcharge_state_after
from runtime.database import driver_connection

FeeEvent = FeeRegistered | FeeCorrected | FeeDeleted

_LOCK_PATIENTS = text(
    "SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM "
    "(SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS ordered"
)
_UPSERTED = {
    "fee_id": "uuid",
    "version": "int",
    "patient_key": "text",
    "submission_id": "text",
    "care_unit": "text",
    "birth_date": "date",
    "visit_date": "date",
    "registered_at": "timestamptz",
    "fee_type": "text",
    "fee_amount": "int",
    "paid_amount": "int",
    "source": "text",
    "receipt_issuer": "text",
}
"""What a fee's row takes from its latest version, each field's column and its type: the statement below
and the values it is given are both made from this one list (a deletion has none but the first three)."""
_ARRIVED = {**_UPSERTED, "event_type": "text", "event": "text"}
"""Each event of the batch: its fields for the fee's row, and the version as `fee_versions` keeps it."""
# Straight through asyncpg, one statement for the batch. It keeps every version (`added`), finds each fee's
# latest version, stored or added, and makes the fee's row that version, returning where each fee it inserted
# or changed now stands. A statement does not see its own inserts, so the versions it added come from what
# the insert returned, beside those stored. Only a latest version the batch itself added changes the row:
# one stored before is the row already (both are written here, in one transaction). A fee's row is touched
# once, by the deletion or by the upsert (`latest` has one row a fee); a fee whose stored version is newer
# is left as it is (and not returned), and a deletion leaves the fee where it stood. A version sent twice in
# the batch is the first one's (`arrival`), in `fee_versions` and in the row alike.
_RECORD_FEE_VERSIONS = (
    "WITH arrived AS (SELECT DISTINCT ON (fee_id, version) * FROM unnest("
    + ", ".join(f"${number}::{kind}[]" for number, kind in enumerate(_ARRIVED.values(), 1))
    + f") WITH ORDINALITY AS a({', '.join(_ARRIVED)}, arrival) ORDER BY fee_id, version, arrival), "
    "added AS (INSERT INTO fee_versions (fee_id, version, patient_key, event_type, event) "
    "SELECT fee_id, version, patient_key, event_type, event::jsonb FROM arrived "
    "ON CONFLICT DO NOTHING RETURNING fee_id, version, event_type), "
    "latest AS (SELECT DISTINCT ON (fee_id) fee_id, version, event_type, added FROM ("
    "SELECT fee_id, version, event_type, false AS added FROM fee_versions WHERE fee_id = ANY($1::uuid[]) "
    "UNION ALL SELECT fee_id, version, event_type, true FROM added) AS versions ORDER BY fee_id, version DESC), "
    "deleted AS (UPDATE fees SET deleted = true, version = latest.version FROM latest "
    f"WHERE fees.fee_id = latest.fee_id AND latest.added AND latest.event_type = '{FeeDeleted.event_type}' "
    "AND fees.version < latest.version), "
    f"upserted AS (INSERT INTO fees ({', '.join(_UPSERTED)}, deleted) "
    f"SELECT {', '.join(f'a.{name}' for name in _UPSERTED)}, false "
    "FROM latest JOIN arrived AS a USING (fee_id, version) "
    f"WHERE latest.added AND latest.event_type <> '{FeeDeleted.event_type}' "
    "ON CONFLICT (fee_id) DO UPDATE SET version = excluded.version, visit_date = excluded.visit_date, "
    "care_unit = excluded.care_unit, fee_type = excluded.fee_type, fee_amount = excluded.fee_amount, "
    "paid_amount = excluded.paid_amount, deleted = false WHERE fees.version < excluded.version "
    "RETURNING fee_id, patient_key, visit_date, registered_at) "
    "SELECT fee_id, patient_key, visit_date, registered_at FROM upserted"
)
# The history is read straight through asyncpg (see `driver_connection`): it returns the fees of a
# batch's patients, and that is where SQLAlchemy's row handling cost the most. Each patient's reads
# start after the patient's checkpoint (`_STARTS`): a range scan of `fees_in_replay_order`. The four
# parts come back as four arrays of one row, so that the history costs one round trip, not four.
_STARTS = (
    "unnest($1::text[], $2::date[], $3::timestamptz[], $4::uuid[]) AS s(patient_key, visit_date, registered_at, fee_id)"
)
_AFTER_START = "(f.visit_date, f.registered_at, f.fee_id) > (s.visit_date, s.registered_at, s.fee_id)"
_FEES = (
    "SELECT ROW(f.fee_id, f.patient_key, f.visit_date, f.registered_at, f.fee_type, f.fee_amount, f.birth_date, "
    f"f.care_unit, coalesce(f.paid_amount, f.charged_amount), f.version) FROM {_STARTS} "
    f"JOIN fees f ON f.patient_key = s.patient_key AND {_AFTER_START} WHERE NOT f.deleted"
)
_CARDS = (
    "SELECT ROW(number, patient_key, period_start, valid_from, valid_to, ceiling, issued_at) FROM free_cards "
    "WHERE patient_key = ANY($1::text[]) AND revoked_at IS NULL"
)
# Those of fees after the start, deleted ones too (the fee's row keeps its last visit date), so that
# what is open for a deleted fee is still closed.
_OVERCHARGES = (
    f"SELECT ROW(o.overcharge_id, o.patient_key, o.fee_id, o.care_unit, o.amount, o.state) FROM {_STARTS} "
    f"JOIN overcharges o ON o.patient_key = s.patient_key JOIN fees f ON f.fee_id = o.fee_id WHERE {_AFTER_START}"
)
_UNDERCHARGES = (
    f"SELECT ROW(u.fee_id, u.patient_key, u.amount) FROM {_STARTS} "
    f"JOIN undercharges u ON u.patient_key = s.patient_key JOIN fees f ON f.fee_id = u.fee_id WHERE {_AFTER_START}"
)
_STATUSES = "SELECT ROW(patient_key, status::text) FROM patient_status WHERE patient_key = ANY($1::text[])"
_HISTORY = f"SELECT ARRAY({_FEES}), ARRAY({_CARDS}), ARRAY({_OVERCHARGES}), ARRAY({_UNDERCHARGES}), ARRAY({_STATUSES})"
# The function (migration 0010) takes the locks, then reads in a statement of its own, which sees what a
# holder of one of the locks committed while the batch waited: a single statement could not.
_LOCK_AND_READ_BEFORE = "SELECT * FROM lock_patients_and_read_before_recording($1::uuid[], $2::text[])"
_BEFORE_EVERY_FEE = ReplayPosition(date.min, datetime.min.replace(tzinfo=UTC), UUID(int=0))


class _Change(NamedTuple):
    """One kind of change a recomputation records, as a part of `_RECORD_CHANGES`."""

    name: str
    columns: dict[str, str]
    """The columns of its rows, each with its type: its parameters are made from this one list."""
    statement: str
    """Reading its rows from `{rows}`, the parameters unnest'ed as `r`."""


_SET_CHARGED = _Change(
    "charged",
    {"fee_id": "uuid", "amount": "int"},
    "UPDATE fees SET charged_amount = r.amount FROM {rows} "
    "WHERE fees.fee_id = r.fee_id AND fees.charged_amount IS NULL",
)
_CARD_DATES = {"period_start": "date", "valid_from": "date", "valid_to": "date"}
_ADD_CARD = _Change(
    "cards_issued",
    {"number": "text", "patient_key": "text", **_CARD_DATES, "ceiling": "int", "issued_at": "timestamptz"},
    "INSERT INTO free_cards (number, patient_key, period_start, valid_from, valid_to, ceiling, issued_at) "
    "SELECT * FROM {rows}",
)
_MOVE_CARD = _Change(
    "cards_moved",
    {"number": "text", **_CARD_DATES, "ceiling": "int"},
    "UPDATE free_cards AS c SET period_start = r.period_start, valid_from = r.valid_from, valid_to = r.valid_to, "
    "ceiling = r.ceiling FROM {rows} WHERE c.number = r.number",
)
_REVOKE_CARD = _Change(
    "cards_revoked",
    {"number": "text", "at": "timestamptz"},
    "UPDATE free_cards AS c SET revoked_at = r.at FROM {rows} WHERE c.number = r.number",
)
_ADD_OVERCHARGE = _Change(
    "overcharges_found",
    {
        "overcharge_id": "uuid",
        "patient_key": "text",
        "fee_id": "uuid",
        "care_unit": "text",
        "visit_date": "date",
        "fee_type": "text",
        "paid_amount": "int",
        "amount_due": "int",
        "amount": "int",
        "at": "timestamptz",
    },
    "INSERT INTO overcharges (overcharge_id, patient_key, fee_id, care_unit, visit_date, fee_type, paid_amount, "
    "amount_due, amount, state, found_at, changed_at) SELECT r.overcharge_id, r.patient_key, r.fee_id, r.care_unit, "
    "r.visit_date, r.fee_type, r.paid_amount, r.amount_due, r.amount, 'open', r.at, r.at FROM {rows}",
)
# Only an open overcharge is the recomputation's to change: one marked refunded stays so, whatever a
# recomputation read before the mark (the patient lock keeps the two apart; this is the second guard).
_CHANGE_OVERCHARGE = _Change(
    "overcharges_changed",
    {"overcharge_id": "uuid", "amount_due": "int", "amount": "int", "state": "text", "at": "timestamptz"},
    "UPDATE overcharges AS o SET amount_due = r.amount_due, amount = r.amount, state = r.state, changed_at = r.at "
    "FROM {rows} WHERE o.overcharge_id = r.overcharge_id AND o.state = 'open'",
)
_RECORD_UNDERCHARGE = _Change(
    "undercharges",
    {"fee_id": "uuid", "patient_key": "text", "care_unit": "text", "amount": "int", "at": "timestamptz"},
    "INSERT INTO undercharges (fee_id, patient_key, care_unit, amount, recorded_at) SELECT * FROM {rows} "
    "ON CONFLICT (fee_id) DO UPDATE SET amount = excluded.amount, recorded_at = excluded.recorded_at",
)
_SET_STATUS = _Change(
    "statuses",
    {"patient_key": "text", "status": "text", "at": "timestamptz"},
    "INSERT INTO patient_status (patient_key, status, changed_at) SELECT r.patient_key, r.status::jsonb, r.at "
    "FROM {rows} ON CONFLICT (patient_key) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at",
)
_SET_CHECKPOINT = _Change(
    "checkpoints_set",
    {
        "patient_key": "text",
        "visit_date": "date",
        "registered_at": "timestamptz",
        "fee_id": "uuid",
        "card_period_start": "date",
        "card_valid_from": "date",
        "card_valid_to": "date",
        "card_ceiling": "int",
    },
    "INSERT INTO ledger_checkpoints (patient_key, visit_date, registered_at, fee_id, card_period_start, "
    "card_valid_from, card_valid_to, card_ceiling) SELECT * FROM {rows} ON CONFLICT (patient_key) DO UPDATE SET "
    "visit_date = excluded.visit_date, registered_at = excluded.registered_at, fee_id = excluded.fee_id, "
    "card_period_start = excluded.card_period_start, card_valid_from = excluded.card_valid_from, "
    "card_valid_to = excluded.card_valid_to, card_ceiling = excluded.card_ceiling",
)
_FORGET_CHECKPOINT = _Change(
    "checkpoints_forgotten",
    {"patient_key": "text"},
    "DELETE FROM ledger_checkpoints AS c USING {rows} WHERE c.patient_key = r.patient_key",
)


def _in_one_statement(changes: Sequence[_Change]) -> str:
    """Every kind of change as a data-modifying CTE over its parameters unnest'ed, the last the statement's own
    (a kind without rows does nothing), each kind's arrays numbered after the kinds before it.

    The parts run on one snapshot and see nothing another part writes, so none may depend on another or
    touch a row another touches. None does: each patient is recomputed once per batch, so a fee, card,
    overcharge, status or checkpoint is one patient's and changed once; and the kinds touch different tables
    or different rows of one: a card issued has a new number while a card moved or revoked is a stored one,
    matched at most once (`free_cards.reconcile`), so moved or revoked, not both; likewise an overcharge found
    is new and one changed is stored; a patient's checkpoint is set or forgotten, not both. Every row they
    change was committed before the statement, or written by an earlier statement of the transaction (the
    fees' rows, `record_fee_versions`). An upsert given the same row twice would fail, not write it twice."""
    parts: list[str] = []
    number = 0
    for change in changes:
        arrays = []
        for kind in change.columns.values():
            number += 1
            arrays.append(f"${number}::{kind}[]")
        rows = f"unnest({', '.join(arrays)}) AS r({', '.join(change.columns)})"
        parts.append(change.statement.format(rows=rows))
    *before, last = parts
    named = zip((change.name for change in changes[:-1]), before, strict=True)
    return "WITH " + ", ".join(f"{name} AS ({part})" for name, part in named) + " " + last


async def lock_patients(conn: AsyncConnection, patient_keys: Iterable[str]) -> None:
    """One patient's ledger is recomputed one change at a time, whichever replica handles it. (A batch of
    fee events takes these locks with `lock_and_read_before`, in the same order.)"""
    await conn.execute(_LOCK_PATIENTS, {"keys": sorted(set(patient_keys))})


async def record_fee_versions(conn: AsyncConnection, events: Sequence[FeeEvent]) -> list[FeePosition]:
    """Keep every version, and make each fee's current row the latest version seen, whatever order
    the versions arrived in (a deletion seen before its registration leaves the fee deleted). Returns
    where each fee whose row was inserted or changed now stands (a deletion leaves a fee where it was)."""
    if not events:
        return []
    db = await driver_connection(conn)
    fields = [[getattr(event, name, None) for event in events] for name in _UPSERTED]
    versions = [[event.event_type for event in events], [event.model_dump_json() for event in events]]
    return [_position(row) for row in await db.fetch(_RECORD_FEE_VERSIONS, *fields, *versions)]


class FeePosition(NamedTuple):
    patient_key: str
    position: ReplayPosition


def _position(row: Sequence[Any]) -> FeePosition:
    fee_id, patient_key, visit_date, registered_at = row
    return FeePosition(patient_key, ReplayPosition(visit_date, registered_at, fee_id))


class BeforeRecording(NamedTuple):
    """Where a batch's fees stood before it was recorded, and its patients' checkpoints."""

    positions: list[FeePosition]
    """Of the fees protection already had a row for."""
    checkpoints: dict[str, Checkpoint]
    """Each patient's checkpoint as last stored (a patient without one has none yet)."""


async def lock_and_read_before(
    conn: AsyncConnection, fee_ids: Iterable[UUID], patient_keys: Iterable[str]
) -> BeforeRecording:
    """The patients' locks (`lock_patients`), then where the fees stand and the patients' checkpoints as
    the last holder of a lock left them: one round trip."""
    db = await driver_connection(conn)
    rows = await db.fetch(_LOCK_AND_READ_BEFORE, list(set(fee_ids)), sorted(set(patient_keys)))
    positions: list[FeePosition] = []
    checkpoints: dict[str, Checkpoint] = {}
    for is_checkpoint, key, visit, registered_at, fee_id, period_start, valid_from, valid_to, ceiling in rows:
        position = ReplayPosition(visit, registered_at, fee_id)
        if not is_checkpoint:
            positions.append(FeePosition(key, position))
            continue
        card = None if period_start is None else FreeCard(period_start, valid_from, valid_to, ceiling)
        checkpoints[key] = Checkpoint(position, card)
    return BeforeRecording(positions, checkpoints)


class StoredPatient(NamedTuple):
    """What protection holds about a patient: the history its ledger is replayed from, and the status it
    last published (None before the first)."""

    history: PatientHistory
    published_status: dict[str, Any] | None


async def stored_patients(
    conn: AsyncConnection, patient_keys: Sequence[str], starts: Mapping[str, Checkpoint | None] | None = None
) -> dict[str, StoredPatient]:
    """What protection holds about each patient, in one round trip: the history, all of it or from the
    patient's start (`starts`) on, and the status last published."""
    db = await driver_connection(conn)
    keys = list(patient_keys)
    begin = {key: (starts or {}).get(key) for key in keys}
    after = [start.after if start is not None else _BEFORE_EVERY_FEE for start in begin.values()]
    ranges = (keys, [a.visit_date for a in after], [a.registered_at for a in after], [a.fee_id for a in after])
    fee_rows, card_rows, overcharge_rows, undercharge_rows, status_rows = await db.fetchrow(_HISTORY, *ranges)
    fees: dict[str, list[Fee]] = {k: [] for k in keys}
    for fee_id, key, visit, registered_at, fee_type, amount, born, unit, paid, version in fee_rows:
        fees[key].append(Fee(fee_id, visit, registered_at, fee_type, amount, born, unit, paid, version))
    cards: dict[str, list[IssuedCard]] = {k: [] for k in keys}
    for number, key, period_start, valid_from, valid_to, ceiling, issued_at in card_rows:
        cards[key].append(IssuedCard(number, period_start, valid_from, valid_to, ceiling, issued_at))
    overcharges: dict[str, list[Overcharge]] = {k: [] for k in keys}
    for overcharge_id, key, fee_id, care_unit, amount, state in overcharge_rows:
        overcharges[key].append(Overcharge(overcharge_id, fee_id, care_unit, amount, OverchargeState(state)))
    undercharges: dict[str, dict[UUID, int]] = {k: {} for k in keys}
    for fee_id, key, amount in undercharge_rows:
        undercharges[key][fee_id] = amount
    published = {key: json.loads(status) for key, status in status_rows}
    return {
        key: StoredPatient(
            PatientHistory(fees[key], cards[key], overcharges[key], undercharges[key], begin[key]), published.get(key)
        )
        for key in keys
    }


async def histories(
    conn: AsyncConnection, patient_keys: Sequence[str], starts: Mapping[str, Checkpoint | None] | None = None
) -> dict[str, PatientHistory]:
    """What protection holds about each patient to replay: all of it, or from the patient's start (`starts`) on."""
    return {key: stored.history for key, stored in (await stored_patients(conn, patient_keys, starts)).items()}


async def record_changes(conn: AsyncConnection, batch: Sequence[PatientChanges]) -> None:
    """Record what a batch's recomputations changed: every kind of change in one statement, one round trip."""
    rows_of_each = [(change, rows_of(batch)) for change, rows_of in _RECORDED]
    if not any(rows for _, rows in rows_of_each):
        return
    arrays = [[row[name] for row in rows] for change, rows in rows_of_each for name in change.columns]
    db = await driver_connection(conn)
    await db.execute(_RECORD_CHANGES, *arrays)


Row = dict[str, Any]
"""The parameters of one row of a statement."""


def _charge_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {"fee_id": fee_id, "amount": amount}
        for changes in batch
        for fee_id, amount in changes.recomputation.charged.items()
    ]


def _card_dates(card: FreeCard) -> Row:
    return {"period_start": card.period_start, "valid_from": card.valid_from, "valid_to": card.valid_to}


def _issued_card_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {
            "number": change.number,
            "patient_key": changes.patient_key,
            **_card_dates(change.card),
            "ceiling": change.card.ceiling,
            "issued_at": changes.at,
        }
        for changes in batch
        for change in changes.recomputation.card_changes
        if isinstance(change, CardIssued)
    ]


def _moved_card_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {"number": change.before.number, **_card_dates(change.card), "ceiling": change.card.ceiling}
        for changes in batch
        for change in changes.recomputation.card_changes
        if isinstance(change, CardMoved)
    ]


def _revoked_card_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {"number": change.before.number, "at": changes.at}
        for changes in batch
        for change in changes.recomputation.card_changes
        if isinstance(change, CardRevoked)
    ]


def _found_overcharge_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {
            "overcharge_id": change.overcharge_id,
            "patient_key": changes.patient_key,
            "fee_id": change.fee.fee_id,
            "care_unit": change.fee.care_unit,
            "visit_date": change.fee.visit_date,
            "fee_type": change.fee.fee_type,
            "paid_amount": change.fee.paid_amount or 0,
            "amount_due": change.amount_due,
            "amount": change.amount,
            "at": changes.at,
        }
        for changes in batch
        for change in changes.recomputation.overcharge_changes
        if isinstance(change, OverchargeFound)
    ]


def _changed_overcharge_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {
            "overcharge_id": change.before.overcharge_id,
            "amount_due": change.amount_due,
            "amount": change.amount,
            "state": overcharge_state_after(change.amount).value,
            "at": changes.at,
        }
        for changes in batch
        for change in changes.recomputation.overcharge_changes
        if isinstance(change, OverchargeChanged)
    ]


def _undercharge_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {
            "fee_id": short.fee.fee_id,
            "patient_key": changes.patient_key,
            "care_unit": short.fee.care_unit,
            "amount": short.amount,
            "at": changes.at,
        }
        for changes in batch
        for short in changes.recomputation.undercharges
    ]


def _status_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        {
            "patient_key": changes.patient_key,
            "status": json.dumps(status_document(changes.status), sort_keys=True),
            "at": changes.at,
        }
        for changes in batch
        if changes.status is not None
    ]


def _checkpoint_rows(batch: Sequence[PatientChanges]) -> list[Row]:
    return [
        checkpoint_row(changes.patient_key, checkpoint)
        for changes in batch
        if changes.checkpoint_changed and (checkpoint := changes.recomputation.ledger.checkpoint) is not None
    ]


def checkpoint_row(patient_key: str, checkpoint: Checkpoint) -> Row:
    """A patient's row of `ledger_checkpoints`, in the table's column order (`seed-ledger` copies it so)."""
    card = checkpoint.card
    return {
        "patient_key": patient_key,
        **checkpoint.after._asdict(),
        "card_period_start": card.period_start if card is not None else None,
        "card_valid_from": card.valid_from if card is not None else None,
        "card_valid_to": card.valid_to if card is not None else None,
        "card_ceiling": card.ceiling if card is not None else None,
    }


def _checkpoints_gone(batch: Sequence[PatientChanges]) -> list[Row]:
    """A full replay that found no settled part: the checkpoint stored before no longer holds."""
    return [
        {"patient_key": changes.patient_key}
        for changes in batch
        if changes.checkpoint_changed and changes.recomputation.ledger.checkpoint is None
    ]


_RECORDED: tuple[tuple[_Change, Callable[[Sequence[PatientChanges]], list[Row]]], ...] = (
    (_SET_CHARGED, _charge_rows),
    (_ADD_CARD, _issued_card_rows),
    (_MOVE_CARD, _moved_card_rows),
    (_REVOKE_CARD, _revoked_card_rows),
    (_ADD_OVERCHARGE, _found_overcharge_rows),
    (_CHANGE_OVERCHARGE, _changed_overcharge_rows),
    (_RECORD_UNDERCHARGE, _undercharge_rows),
    (_SET_STATUS, _status_rows),
    (_SET_CHECKPOINT, _checkpoint_rows),
    (_FORGET_CHECKPOINT, _checkpoints_gone),
)
"""Each kind of change and the rows a batch gives it."""
_RECORD_CHANGES = _in_one_statement([change for change, _ in _RECORDED])


# --- HTTP reads and the refund mark ------------------------------------------------------------

_OPEN_FOR_UNIT = text(
    "SELECT overcharge_id, patient_key, fee_id, care_unit, visit_date, fee_type, paid_amount, amount_due, amount, "
    "found_at FROM overcharges WHERE care_unit = :care_unit AND state = 'open' ORDER BY found_at, overcharge_id"
)
_PATIENT_OF_OVERCHARGE = text("SELECT patient_key FROM overcharges WHERE overcharge_id = :overcharge_id")
_OVERCHARGE = text(
    "SELECT overcharge_id, patient_key, fee_id, care_unit, visit_date, fee_type, paid_amount, amount_due, amount, "
    "state, found_at, refunded_by FROM overcharges WHERE overcharge_id = :overcharge_id FOR UPDATE"
)
_MARK_REFUNDED = text(
    "UPDATE overcharges SET state = 'refunded', refunded_by = :refunded_by, changed_at = :at "
    "WHERE overcharge_id = :overcharge_id AND state = 'open'"
)


@dataclass(frozen=True)
class OverchargeRow:
    overcharge_id: UUID
    patient_key: str
    fee_id: UUID
    care_unit: str
    visit_date: date
    fee_type: str
    paid_amount: int
    amount_due: int
    amount: int
    found_at: datetime
    state: str = "open"
    refunded_by: str | None = None


async def open_overcharges(conn: AsyncConnection, care_unit: str) -> list[OverchargeRow]:
    return [OverchargeRow(**row._mapping) for row in await conn.execute(_OPEN_FOR_UNIT, {"care_unit": care_unit})]


async def overcharge_for_update(conn: AsyncConnection, overcharge_id: UUID) -> OverchargeRow | None:
    """The overcharge as it stands once no recomputation of its patient is under way, locked until commit.

    The patient's lock first, then the row, in the order a recomputation takes them: a recomputation that
    read the overcharge open finishes before the mark, and one that starts after it reads it refunded."""
    patient = (await conn.execute(_PATIENT_OF_OVERCHARGE, {"overcharge_id": overcharge_id})).scalar()
    if patient is None:
        return None
    await lock_patients(conn, [patient])
    row = (await conn.execute(_OVERCHARGE, {"overcharge_id": overcharge_id})).first()
    return OverchargeRow(**row._mapping) if row is not None else None


async def mark_refunded(conn: AsyncConnection, overcharge_id: UUID, refunded_by: str, at: datetime) -> bool:
    result = await conn.execute(_MARK_REFUNDED, {"overcharge_id": overcharge_id, "refunded_by": refunded_by, "at": at})
    return bool(result.rowcount)
