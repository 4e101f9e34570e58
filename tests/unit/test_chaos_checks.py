"""The chaos run's ledger check finds a ledger that is not the replay's: what protection holds for a
patient is compared with a fresh replay of the fees registration holds, by protection's own rules."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from efrikort.chaos.checks import Holdings, Published, Verdict, check_ledgers, events, fees_as_registered, longest_pause
from efrikort.chaos.observe import Record
from protection.ledger import FreeCard
from protection.recompute import PatientHistory, Recomputation, recompute
from protection.regions import RegionSettings

REGION = RegionSettings.load()
KEY = "k" * 64
BORN = date(1970, 5, 5)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def registered(visit: date, amount: int, paid: int | None) -> dict[str, Any]:
    return {
        "fee_id": uuid.uuid4(),
        "version": 1,
        "submission_id": str(uuid.uuid4()),
        "patient_key": KEY,
        "birth_date": BORN,
        "visit_date": visit,
        "care_unit": "SE2321000016-UCHAOS1",
        "fee_type": "doctor_visit",
        "fee_amount": amount,
        "paid_amount": paid,
        "registered_at": datetime(2026, 11, 1, tzinfo=UTC),
        "deleted": False,
    }


def event(event_type: str, payload: dict[str, Any]) -> Record:
    body = json.dumps({"payload": payload}, default=str).encode()
    return Record(KEY, body, 0, {"event_id": str(uuid.uuid4()), "event_type": event_type})


def what_protection_holds(fees: list[dict[str, Any]]) -> tuple[Holdings, Published]:
    """What a correct protection holds and published for these fees (paid as assessed: no overcharges)."""
    as_registered = fees_as_registered(Holdings(fees, {}, [], [], [], {}, []))[KEY]
    result = recompute(PatientHistory(as_registered, [], [], {}), REGION, datetime(2026, 12, 1, tzinfo=UTC))
    cards = [
        {
            "number": f"FK-{i}",
            "patient_key": KEY,
            **_dates(card),
            "ceiling": card.ceiling,
            "issued_at": datetime.now(UTC),
        }
        for i, card in enumerate(result.ledger.free_cards)
    ]
    protection_fees = [{**row, "charged_amount": None} for row in fees]
    held = Holdings(fees, {}, protection_fees, cards, [], {}, [])
    issued = [event("FreeCardIssued", card) for card in cards]
    return held, Published({}, issued, [], {})


def _dates(card: FreeCard) -> dict[str, Any]:
    return {"period_start": card.period_start, "valid_from": card.valid_from, "valid_to": card.valid_to}


def ledger_differences_found(replay: Any) -> list[str]:
    fees = [registered(date(2026, 1, d), 300, None) for d in range(1, 8)]  # 2 100 kr: the ceiling is reached
    held, sent = what_protection_holds(fees)
    found = Verdict()
    check_ledgers(found, {KEY: 0}, held, sent, REGION, replay)
    # The status is not held in this test: only what the replay says of fees, cards and overcharges counts.
    return [d for d in found.differences if "status" not in d]


def test_a_ledger_that_is_the_replay_has_no_differences() -> None:
    assert ledger_differences_found(recompute) == []


def test_a_ledger_that_is_not_the_replay_is_a_difference() -> None:
    def ceiling_100_lower(history: PatientHistory, region: RegionSettings, now: datetime) -> Recomputation:
        lower = dataclasses.replace(
            region,
            changes=tuple(
                (start, dataclasses.replace(rules, ceiling=rules.ceiling - 100)) for start, rules in region.changes
            ),
        )
        return recompute(history, lower, now)

    differences = ledger_differences_found(ceiling_100_lower)

    assert any("patient #0: free cards stored" in d for d in differences), differences


def test_events_delivered_twice_are_one_event() -> None:
    record = event("FreeCardIssued", {"number": "FK-1"})
    assert len(events([record, record])) == 1


def test_the_longest_pause_counts_only_time_a_sent_submission_waited_for_its_outcome() -> None:
    def outcome(at_ms: int) -> list[Record]:
        return [Record(None, b"{}", at_ms, {})]

    answered = Published({"a": outcome(0), "b": outcome(1_000), "c": outcome(10_000)}, [], [], {})

    assert longest_pause(answered, {"a": 0, "b": 0, "c": 500}) == (9.0, 1_000)  # c waited from 1 s to 10 s
    assert longest_pause(answered, {"a": 0, "b": 0, "c": 9_000}) == (1.0, 0)  # nothing waited: idle


def test_a_pause_counts_whichever_outcome_comes_first_after_it() -> None:
    def outcome(at_ms: int) -> list[Record]:
        return [Record(None, b"{}", at_ms, {})]

    # d was sent before the pause and waited through it; c, sent during it, happened to be answered first.
    answered = Published({"a": outcome(0), "b": outcome(1_000), "c": outcome(10_000), "d": outcome(10_500)}, [], [], {})

    assert longest_pause(answered, {"a": 0, "b": 0, "c": 9_000, "d": 500}) == (9.0, 1_000)
