"""Age on the visit date, and the visits that are free because of it. Plain Python.

The birth date comes from the identity number (a coordination number has 60 added to the day;
registration takes that off). Someone born on 29 February turns a year older on 1 March in a year
without one, as a period that starts on 29 February has its anniversary on 1 March.
"""

from __future__ import annotations

from datetime import date

FREE_FROM_AGE = 85
"""Patients aged 85 or over on the visit date pay nothing (by law: HSL 17 kap.)."""


def age_on(birth_date: date, day: date) -> int:
    """Whole years completed on `day`."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def birthday(birth_date: date, age: int) -> date:
    """The day the patient turns `age`: from then on `age_on` is at least `age`."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:  # 29 February, in a year without one
        return date(birth_date.year + age, 3, 1)
