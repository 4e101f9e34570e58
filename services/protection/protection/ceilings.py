"""The ceiling (högkostnadstak) in force on a date: configuration with effective dates, not constants."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CeilingSchedule:
    """Ceilings in whole kronor, each in force from its date until the next one."""

    changes: tuple[tuple[date, int], ...]

    def on(self, day: date) -> int:
        index = bisect_right([start for start, _ in self.changes], day) - 1
        if index < 0:
            raise ValueError(f"no ceiling configured for {day}")
        return self.changes[index][1]


NATIONAL_CEILINGS = CeilingSchedule((
    (date(2019, 1, 1), 1150),
    (date(2022, 1, 1), 1200),
    (date(2023, 1, 1), 1300),
    (date(2024, 1, 1), 1400),
    (date(2025, 1, 1), 1450),
))
