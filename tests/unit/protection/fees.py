"""Building fee histories for the ledger tests, in the words of DOMAIN.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import count
from uuid import UUID, uuid4

from protection.ledger import Fee, Ledger, replay
from protection.overcharges import OverchargeState
from protection.recompute import PatientHistory
from protection.regions import RegionSettings

ADULT = date(1985, 4, 12)
REGION = RegionSettings.load()
"""The default settings: national ceilings 2019-2026, rolling periods, children under 18, 48 h preliminary."""

_registration_order = count()


def fixed_region(**overrides: object) -> RegionSettings:
    settings = {
        "ceiling": 1450,
        "child_age_limit": 18,
        "period_mode": "fixed",
        "preliminary_window_hours": 48,
        **overrides,
    }
    lines = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in settings.items())
    return RegionSettings.from_toml(f"format = 1\n[[change]]\neffective_from = 2019-01-01\n{lines}\n")


def visit(
    day: date,
    amount: int = 300,
    fee_type: str = "doctor_visit",
    born: date = ADULT,
    paid: int | None = None,
    unit: str = "SE2321000016-U001",
    fee_id: UUID | None = None,
) -> Fee:
    """A fee registered now, after every fee built before it."""
    registered = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=next(_registration_order))
    return Fee(fee_id or uuid4(), day, registered, fee_type, amount, born, unit, paid)


def due(ledger: Ledger, *fees: Fee) -> list[int]:
    return [ledger.assessments[f.fee_id].amount_due for f in fees]


def ledger_of(*fees: Fee, region: RegionSettings = REGION) -> Ledger:
    return replay(list(fees), region)


def refunded(history: PatientHistory, overcharge_id: UUID) -> PatientHistory:
    overcharges = [
        replace(o, state=OverchargeState.REFUNDED) if o.overcharge_id == overcharge_id else o
        for o in history.overcharges
    ]
    return replace(history, overcharges=overcharges)


def history(*fees: Fee) -> PatientHistory:
    return PatientHistory(list(fees), [], [], {})
