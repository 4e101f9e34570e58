"""The one clock of e-frikort: dates are calendar dates in Swedish time, wherever the server runs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SWEDISH_TIME = ZoneInfo("Europe/Stockholm")


def now() -> datetime:
    """This instant, aware, in UTC (timestamps are stored and sent so)."""
    return datetime.now(UTC)


def today_in_sweden(at: datetime | None = None) -> date:
    """The calendar date in Sweden at `at` (now when left out). A visit date, a period's start and a
    commission's end are all such dates, so "today" is never the server's local date."""
    return (at or now()).astimezone(SWEDISH_TIME).date()
