"""Region settings with the dates they take effect: what the law leaves to each region.

Read from a versioned TOML file (`regions/default.toml`, or the file `EFRIKORT_PROTECTION_REGION_FILE`
names). A change takes effect only from its date: a fee is always assessed by the settings in
force on its visit date. Plain Python: no Kafka, no SQL.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).parent / "regions" / "default.toml"
SUPPORTED_FORMAT = 1


class PeriodMode(StrEnum):
    """What happens to a period that does not reach the ceiling within twelve months."""

    ROLLING = "rolling"
    """The period is always the twelve months up to the visit assessed; older fees drop out."""
    FIXED = "fixed"
    """The period ends the day before its anniversary; the next counting visit starts from zero."""


@dataclass(frozen=True)
class RegionRules:
    """The settings in force on one day."""

    ceiling: int
    """högkostnadstak, whole kronor"""
    child_age_limit: int
    period_mode: PeriodMode
    preliminary_window_hours: int


class RegionSettingsError(ValueError):
    """The settings file is wrong; the message names the entry and the field."""


@dataclass(frozen=True)
class RegionSettings:
    """Every change of a region's settings, in date order."""

    region: str
    changes: tuple[tuple[date, RegionRules], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", [start for start, _ in self.changes])

    def on(self, day: date) -> RegionRules:
        index = bisect_right(self._starts, day) - 1  # type: ignore[attr-defined]
        if index < 0:
            raise RegionSettingsError(f"no region settings in force on {day.isoformat()}")
        return self.changes[index][1]

    @property
    def first_day(self) -> date:
        """The first day these settings cover: no ceiling is known before it."""
        return self.changes[0][0]

    def next_change_after(self, day: date) -> date:
        """The first day on which other settings take effect; `date.max` when none is planned."""
        index = bisect_right(self._starts, day)  # type: ignore[attr-defined]
        return self.changes[index][0] if index < len(self.changes) else date.max

    def ceiling_on(self, day: date) -> int:
        return self.on(day).ceiling

    @classmethod
    def from_toml(cls, text: str) -> RegionSettings:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RegionSettingsError(f"not valid TOML: {error}") from None
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> RegionSettings:
        if document.get("format") != SUPPORTED_FORMAT:
            raise RegionSettingsError(f"format: must be {SUPPORTED_FORMAT}, got {document.get('format')!r}")
        entries = document.get("change")
        if not isinstance(entries, list) or not entries:
            raise RegionSettingsError("change: at least one [[change]] is needed")
        changes: list[tuple[date, RegionRules]] = []
        current: RegionRules | None = None
        for number, entry in enumerate(entries, start=1):
            where = f"change {number}"
            start = entry.get("effective_from")
            if not isinstance(start, date):
                raise RegionSettingsError(f"{where}: effective_from must be a date (YYYY-MM-DD)")
            if changes and start <= changes[-1][0]:
                raise RegionSettingsError(f"{where}: effective_from must be after the previous change's")
            current = _apply(current, entry, where)
            changes.append((start, current))
        return cls(region=str(document.get("region", "")), changes=tuple(changes))

    @classmethod
    def load(cls, path: Path | None = None) -> RegionSettings:
        return cls.from_toml((path or DEFAULT_FILE).read_text(encoding="utf-8"))


_FIELDS = ("ceiling", "child_age_limit", "period_mode", "preliminary_window_hours")


def _apply(previous: RegionRules | None, entry: dict[str, Any], where: str) -> RegionRules:
    unknown = set(entry) - {"effective_from", *_FIELDS}
    if unknown:
        raise RegionSettingsError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    values: dict[str, Any] = {}
    for name in ("ceiling", "child_age_limit", "preliminary_window_hours"):
        if name in entry:
            value = entry[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RegionSettingsError(f"{where}: {name} must be a whole number, not negative")
            values[name] = value
    if "ceiling" in values and values["ceiling"] <= 0:
        raise RegionSettingsError(f"{where}: ceiling must be above zero")
    if "period_mode" in entry:
        try:
            values["period_mode"] = PeriodMode(entry["period_mode"])
        except ValueError:
            raise RegionSettingsError(f"{where}: period_mode must be 'rolling' or 'fixed'") from None
    if previous is None:
        missing = [name for name in _FIELDS if name not in values]
        if missing:
            raise RegionSettingsError(f"{where}: the first change must set {missing[0]}")
        return RegionRules(**values)
    return replace(previous, **values)
