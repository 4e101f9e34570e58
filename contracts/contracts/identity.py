"""Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).

The integration contract's `patient_id`. Every service that takes one at its edge parses it here and
turns it into the pseudonymous patient key at once (`runtime.patient_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_FORMAT = re.compile(r"([0-9]{8})-?([0-9]{4})", re.ASCII)
"""ASCII digits only, and nothing around them (used with `fullmatch`): `\\d` would also take the digits of
other scripts and `$` a trailing line break, and the same patient would get a second key."""
COORDINATION_DAY_OFFSET = 60


class InvalidIdentityNumber(ValueError):
    """Why an identity number is not acceptable. The message never repeats the number."""


def _luhn_sum(digits: str) -> int:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total


def luhn_valid(digits: str) -> bool:
    """The Luhn check over the ten digits YYMMDDNNNC."""
    return _luhn_sum(digits) % 10 == 0


def with_check_digit(first_eleven: str) -> str:
    """YYYYMMDDNNN completed with its check digit: how test and load data make valid numbers."""
    return first_eleven + str((10 - _luhn_sum(first_eleven[2:]) % 10) % 10)


@dataclass(frozen=True)
class IdentityNumber:
    """A patient's personnummer or samordningsnummer, normalised to 12 digits."""

    digits: str
    birth_date: date
    coordination: bool

    @classmethod
    def parse(cls, text: str) -> IdentityNumber:
        match = _FORMAT.fullmatch(text)
        if not match:
            raise InvalidIdentityNumber("must be 12 digits, written YYYYMMDDNNNN or YYYYMMDD-NNNN")
        digits = match.group(1) + match.group(2)
        year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
        coordination = day > COORDINATION_DAY_OFFSET
        if coordination:
            day -= COORDINATION_DAY_OFFSET
        try:
            birth_date = date(year, month, day)
        except ValueError:
            raise InvalidIdentityNumber("does not hold a real date of birth") from None
        if not luhn_valid(digits[2:]):
            raise InvalidIdentityNumber("check digit does not match (Luhn)")
        return cls(digits=digits, birth_date=birth_date, coordination=coordination)

    def __repr__(self) -> str:
        # Keeps the number out of tracebacks and debug logs.
        return f"IdentityNumber(birth_date={self.birth_date}, coordination={self.coordination})"

    __str__ = __repr__
