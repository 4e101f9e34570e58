"""The chaos run's verdict, from what the settled stack holds:

- every submission has exactly one outcome (accepted, or refused when it was meant to be);
- no fee is registered twice (one fee per submission, in registration and in protection);
- every patient's ledger is a fresh replay of the patient's fees as registration holds them, in
  visit-date order, by protection's own rules (`protection.recompute`): the fees protection holds, its
  free cards as stored and as published, each fee's overcharge as stored and as published, and the
  patient's status as stored and as published;
- every free card and overcharge has exactly one notice (notifications' table): one per event that
  tells a patient something, and each card issued and each overcharge found once;
- the changes the system made are what registration holds; nothing went to a dead-letter topic.

Differences name patients and submissions by their index in the run, never by identity number.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts import clock
from contracts.topics import FREE_CARDS, OVERCHARGES, PATIENT_STATUS, SYSTEM_FEE_OUTCOMES
from efrikort.chaos.observe import Record, dead_letters, read_topic
from efrikort.chaos.workload import CHAOS_SYSTEM, ChangeKind, Workload
from efrikort.infra.stack import InfraEndpoints
from protection.free_cards import IssuedCard
from protection.ledger import Fee
from protection.ledger_changes import patient_status, status_document
from protection.overcharges import owed
from protection.recompute import PatientHistory, Recomputation, recompute, status_on
from protection.regions import RegionSettings
from runtime.patient_key import patient_key

Replay = Callable[[PatientHistory, RegionSettings, datetime], Recomputation]
"""The rules the ledgers are checked against: protection's own `recompute` (a test may give a wrong one)."""


@dataclass
class Verdict:
    """What the checks found: counts, and each difference named."""

    outcomes_missing: int = 0
    outcomes_duplicated: int = 0
    outcome_records_repeated: int = 0
    """Outcome records delivered more than once with the same content (at-least-once delivery, or a
    re-send answered again): not a second outcome."""
    wrong_outcomes: int = 0
    fees_registered_twice: int = 0
    ledger_differences: int = 0
    patients_checked: int = 0
    notices: int = 0
    notice_differences: int = 0
    change_differences: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    longest_pause_s: float = 0.0
    """The longest time between two consecutive outcomes (each submission's first), by Kafka's timestamps."""
    longest_pause_began_ms: int = 0
    """When it began (epoch milliseconds)."""
    differences: list[str] = field(default_factory=list)

    def differ(self, counter: str, text: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        self.differences.append(text)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.dead_letters


@dataclass(frozen=True)
class Holdings:
    """The rows the checks compare, as the server's owner reads them."""

    registered: list[asyncpg.Record]
    """Registration's latest version of every fee the system sent."""
    fees_per_submission: dict[str, int]
    protection_fees: list[asyncpg.Record]
    free_cards: list[asyncpg.Record]
    overcharges: list[asyncpg.Record]
    statuses: dict[str, dict[str, Any]]
    notices: list[asyncpg.Record]


async def holdings(database_url: str) -> Holdings:
    conn = await asyncpg.connect(database_url)
    try:
        registered = await conn.fetch(
            "SELECT DISTINCT ON (fee_id) fee_id, version, submission_id, patient_key, birth_date, visit_date, "
            "care_unit, fee_type, fee_amount, paid_amount, registered_at, deleted FROM registration.fee_versions "
            "WHERE system_id = $1 ORDER BY fee_id, version DESC",
            CHAOS_SYSTEM,
        )
        per_submission = await conn.fetch(
            "SELECT submission_id, count(DISTINCT fee_id) AS fees FROM registration.fee_versions "
            "WHERE system_id = $1 GROUP BY submission_id",
            CHAOS_SYSTEM,
        )
        return Holdings(
            registered,
            {row["submission_id"]: row["fees"] for row in per_submission},
            await conn.fetch(
                "SELECT fee_id, version, submission_id, patient_key, visit_date, fee_type, fee_amount, paid_amount, "
                "charged_amount, deleted FROM protection.fees"
            ),
            await conn.fetch(
                "SELECT number, patient_key, period_start, valid_from, valid_to, ceiling, issued_at "
                "FROM protection.free_cards WHERE revoked_at IS NULL"
            ),
            await conn.fetch("SELECT overcharge_id, patient_key, fee_id, amount, state FROM protection.overcharges"),
            {
                row["patient_key"]: json.loads(row["status"])
                for row in await conn.fetch("SELECT patient_key, status::text AS status FROM protection.patient_status")
            },
            await conn.fetch("SELECT cause, patient_key, kind FROM notifications.notices"),
        )
    finally:
        await conn.close()


@dataclass(frozen=True)
class Published:
    """What the topics hold: the system's outcomes, and protection's ledger events."""

    outcomes: dict[str, list[Record]]
    free_cards: list[Record]
    overcharges: list[Record]
    statuses: dict[str, dict[str, Any]]
    """The last status published per patient key, without the day it was computed on."""


async def published(endpoints: InfraEndpoints) -> Published:
    outcomes: dict[str, list[Record]] = defaultdict(list)
    for record in await read_topic(endpoints, SYSTEM_FEE_OUTCOMES.of(CHAOS_SYSTEM).name):
        outcomes[record.key or ""].append(record)
    statuses = {}
    for record in await read_topic(endpoints, PATIENT_STATUS.name):
        if record.key is not None and record.value is not None:
            statuses[record.key] = {k: v for k, v in record.document()["payload"].items() if k != "as_of"}
    return Published(
        outcomes,
        await read_topic(endpoints, FREE_CARDS.name),
        await read_topic(endpoints, OVERCHARGES.name),
        statuses,
    )


async def verdict(
    endpoints: InfraEndpoints,
    workload: Workload,
    secret: str,
    region: RegionSettings,
    replay: Replay = recompute,
    *,
    sent_at_ms: dict[str, int] | None = None,
) -> Verdict:
    found = Verdict()
    held, sent = await holdings(endpoints.database_url), await published(endpoints)
    check_outcomes(found, workload, sent)
    found.longest_pause_s, found.longest_pause_began_ms = longest_pause(sent, sent_at_ms or {})
    check_fees_once(found, workload, held)
    check_changes(found, workload, held)
    patients = {patient_key(number, secret): index for index, number in enumerate(workload.patients)}
    check_ledgers(found, patients, held, sent, region, replay)
    check_notices(found, patients, held, sent)
    found.dead_letters = await dead_letters(endpoints)
    for topic, count in found.dead_letters.items():
        found.differences.append(f"dead letters: {count} on {topic}")
    return found


def check_outcomes(found: Verdict, workload: Workload, sent: Published) -> None:
    for planned in workload.submissions:
        records = sent.outcomes.get(planned.submission_id, [])
        contents = {json.dumps(record.document(), sort_keys=True) for record in records}
        found.outcome_records_repeated += len(records) - len(contents)
        if not records:
            found.differ("outcomes_missing", f"submission #{planned.index}: no outcome")
        elif len(contents) > 1:
            found.differ("outcomes_duplicated", f"submission #{planned.index}: {len(contents)} different outcomes")
        elif (status := records[0].document().get("status")) != ("accepted" if planned.accepted else "rejected"):
            found.differ("wrong_outcomes", f"submission #{planned.index}: {status}, not as expected")


def longest_pause(sent: Published, sent_at_ms: dict[str, int]) -> tuple[float, int]:
    """The longest time outcomes paused while a submission was waiting for one: a gap between two consecutive
    outcomes (each submission's first, by Kafka's timestamps) counts when some submission sent before the gap
    began was answered only after it (whichever outcome happens to come first after the gap); a gap with
    nothing sent and unanswered is idle, not a pause. And when it began."""
    answered_at = {sid: min(r.timestamp_ms for r in records) for sid, records in sent.outcomes.items() if records}
    by_sending = sorted((sent_at_ms.get(sid, 0), at) for sid, at in answered_at.items())
    sending = [sent_at for sent_at, _ in by_sending]
    last_answer_of_sent_by = list(itertools.accumulate((at for _, at in by_sending), max))
    gaps = []
    for earlier, later in itertools.pairwise(sorted(answered_at.values())):
        waiting = bisect.bisect_right(sending, earlier)
        if waiting and last_answer_of_sent_by[waiting - 1] >= later:
            gaps.append((later - earlier, earlier))
    gap, began = max(gaps, default=(0, 0))
    return gap / 1000, began


def check_fees_once(found: Verdict, workload: Workload, held: Holdings) -> None:
    in_protection = Counter(row["submission_id"] for row in held.protection_fees)
    for planned in workload.submissions:
        expected = 1 if planned.accepted else 0
        registered = held.fees_per_submission.get(planned.submission_id, 0)
        assessed = in_protection[planned.submission_id]
        if (registered, assessed) != (expected, expected):
            found.differ(
                "fees_registered_twice",
                f"submission #{planned.index}: {registered} fees in registration, {assessed} in protection, "
                f"not {expected}",
            )


def check_changes(found: Verdict, workload: Workload, held: Holdings) -> None:
    """Each correction and deletion the system made is where its fee stands in registration."""
    latest = {row["submission_id"]: row for row in held.registered}
    for planned in workload.submissions:
        if planned.change is None or planned.submission_id not in latest:
            continue
        row = latest[planned.submission_id]
        if planned.change.kind is ChangeKind.DELETION:
            holds = row["deleted"] and row["version"] == 2
        else:
            values = {k: v for k, v in planned.change.body.items() if k != "reason"}
            holds = row["version"] == 2 and all(str(row[k]) == str(v) for k, v in values.items())
        if not holds:
            found.differ("change_differences", f"submission #{planned.index}: its {planned.change.kind} is not held")


def fees_as_registered(held: Holdings) -> dict[str, list[Fee]]:
    """Per patient, the fees registration holds (latest versions, not deleted) as the ledger takes them: a
    fee registered without a paid amount paid as protection first assessed it (what overcharges are
    measured against; it depends on the order the fees came in, so it is protection's record)."""
    charged = {row["fee_id"]: row["charged_amount"] for row in held.protection_fees}
    fees: dict[str, list[Fee]] = defaultdict(list)
    for row in held.registered:
        if row["deleted"]:
            continue
        paid = row["paid_amount"] if row["paid_amount"] is not None else charged.get(row["fee_id"])
        fees[row["patient_key"]].append(
            Fee(
                row["fee_id"],
                row["visit_date"],
                row["registered_at"],
                row["fee_type"],
                row["fee_amount"],
                row["birth_date"],
                row["care_unit"],
                paid,
            )
        )
    return fees


def check_ledgers(
    found: Verdict,
    patients: dict[str, int],
    held: Holdings,
    sent: Published,
    region: RegionSettings,
    replay: Replay,
) -> None:
    fees = fees_as_registered(held)
    cards = group(held.free_cards)
    overcharges = group(held.overcharges)
    assessed = group([row for row in held.protection_fees if not row["deleted"]])
    published_cards = published_free_cards(sent.free_cards)
    published_overcharges = published_overcharge_amounts(sent.overcharges)
    now = clock.now()
    today = clock.today_in_sweden(now)
    for key in sorted(set(fees) | set(assessed) | set(cards), key=lambda k: patients.get(k, -1)):
        name = f"patient #{patients[key]}" if key in patients else f"patient key {key[:12]}"
        issued = [IssuedCard(*(row[k] for k in _CARD_FIELDS)) for row in cards.get(key, [])]
        expected = replay(PatientHistory(fees.get(key, []), issued, [], {}), region, now)
        found.patients_checked += 1
        for text in ledger_differences(
            expected,
            assessed.get(key, []),
            issued,
            published_cards.get(key, set()),
            overcharges.get(key, []),
            published_overcharges,
        ):
            found.differ("ledger_differences", f"{name}: {text}")
        status = status_document(patient_status(key, status_on(today, expected.ledger, issued, region, now), today))
        for source, document in (("stored", held.statuses.get(key)), ("published", sent.statuses.get(key))):
            if _without_day(status) != _without_day(document or {}):
                found.differ("ledger_differences", f"{name}: status {source} is not the replay's")


_CARD_FIELDS = ("number", "period_start", "valid_from", "valid_to", "ceiling", "issued_at")
CardDates = tuple[date, date, date, int]


def ledger_differences(
    expected: Recomputation,
    assessed: list[asyncpg.Record],
    issued: list[IssuedCard],
    published_cards: set[CardDates],
    overcharges: list[asyncpg.Record],
    published_overcharges: dict[UUID, int],
) -> Iterable[str]:
    """How what protection holds and published for one patient differs from the replay."""
    wanted = {(f.fee_id, f.visit_date, f.fee_type, f.fee_amount) for f in expected.fees}
    holds = {(r["fee_id"], r["visit_date"], r["fee_type"], r["fee_amount"]) for r in assessed}
    if wanted != holds:
        yield f"protection holds {len(holds - wanted)} fee versions registration does not, lacks {len(wanted - holds)}"
    cards = {(c.period_start, c.valid_from, c.valid_to, c.ceiling) for c in expected.ledger.free_cards}
    stored_cards = {(c.period_start, c.valid_from, c.valid_to, c.ceiling) for c in issued}
    if cards != stored_cards:
        yield f"free cards stored {_dates(stored_cards)}, replay {_dates(cards)}"
    if {card[:3] for card in cards} != {card[:3] for card in published_cards}:
        yield f"free cards published {_dates(published_cards)}, replay {_dates(cards)}"
    due = {fee_id: assessment.amount_due for fee_id, assessment in expected.ledger.assessments.items()}
    owes = {f.fee_id: owed(f, due[f.fee_id]) for f in expected.fees if owed(f, due[f.fee_id]) > 0}
    stored: Counter[UUID] = Counter()
    announced: Counter[UUID] = Counter()
    for row in overcharges:
        stored[row["fee_id"]] += row["amount"] if row["state"] == "open" else 0
        announced[row["fee_id"]] += published_overcharges.get(row["overcharge_id"], 0)
    for fee_id in sorted(set(owes) | set(+stored) | set(+announced)):
        if not owes.get(fee_id, 0) == stored[fee_id] == announced[fee_id]:
            yield (
                f"fee {str(fee_id)[:8]} owes {owes.get(fee_id, 0)} kr by the replay, "
                f"{stored[fee_id]} stored, {announced[fee_id]} published"
            )


def _dates(cards: set[CardDates]) -> str:
    return (
        ", ".join(
            f"{start}:{valid_from}..{valid_to} ({ceiling} kr)" for start, valid_from, valid_to, ceiling in sorted(cards)
        )
        or "none"
    )


def _without_day(status: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k not in ("as_of", "patient_key")}


def group(rows: Iterable[asyncpg.Record]) -> dict[str, list[asyncpg.Record]]:
    by_patient: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        by_patient[row["patient_key"]].append(row)
    return by_patient


def events(records: Iterable[Record]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each event once, by its event id (a record delivered twice is one event): its type and payload."""
    return {
        record.headers["event_id"]: (record.headers["event_type"], record.document()["payload"])
        for record in records
        if record.value is not None and "event_id" in record.headers
    }


def published_free_cards(records: list[Record]) -> dict[str, set[CardDates]]:
    """Per patient, the cards the free-card events leave standing, in the order they were published."""
    cards: dict[str, dict[str, CardDates]] = defaultdict(dict)
    for kind, payload in events(records).values():
        standing = cards[payload["patient_key"]]
        if kind == "FreeCardRevoked":
            standing.pop(payload["number"], None)
        else:
            standing[payload["number"]] = (
                date.fromisoformat(payload["period_start"]),
                date.fromisoformat(payload["valid_from"]),
                date.fromisoformat(payload["valid_to"]),
                payload["ceiling"],
            )
    return {key: set(by_number.values()) for key, by_number in cards.items()}


def published_overcharge_amounts(records: list[Record]) -> dict[UUID, int]:
    """What each overcharge owes by the last event published about it."""
    amounts: dict[UUID, int] = {}
    for kind, payload in events(records).values():
        if kind in ("OverchargeFound", "OverchargeChanged"):
            amounts[UUID(payload["overcharge_id"])] = payload["amount"]
        elif kind == "OverchargeRefunded":
            amounts[UUID(payload["overcharge_id"])] = 0
    return amounts


TOLD = {
    "FreeCardIssued": "free_card_issued",
    "FreeCardMoved": "free_card_moved",
    "FreeCardRevoked": "free_card_revoked",
    "OverchargeFound": "overcharge_found",
}
"""The events notifications tells the patient of, and the kind of notice each gives."""


def check_notices(found: Verdict, patients: dict[str, int], held: Holdings, sent: Published) -> None:
    told = {
        event_id: (kind, payload)
        for event_id, (kind, payload) in {**events(sent.free_cards), **events(sent.overcharges)}.items()
        if kind in TOLD
    }
    per_cause = Counter(row["cause"] for row in held.notices)
    found.notices = len(held.notices)

    def name(key: str) -> str:
        return f"patient #{patients[key]}" if key in patients else f"patient key {key[:12]}"

    for event_id, (kind, payload) in sorted(told.items(), key=lambda item: patients.get(item[1][1]["patient_key"], -1)):
        if per_cause[event_id] != 1:
            found.differ(
                "notice_differences", f"{name(payload['patient_key'])}: {per_cause[event_id]} notices of {kind}"
            )
    for row in held.notices:
        if row["cause"] not in told:
            found.differ("notice_differences", f"{name(row['patient_key'])}: a {row['kind']} notice of no event")
    issued = Counter(p["number"] for kind, p in told.values() if kind == "FreeCardIssued")
    found_once = Counter(p["overcharge_id"] for kind, p in told.values() if kind == "OverchargeFound")
    for what, counts in (("free card", issued), ("overcharge", found_once)):
        for subject, count in counts.items():
            if count != 1:
                found.differ("notice_differences", f"{what} {subject[:12]}: announced {count} times")
