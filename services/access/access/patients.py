"""The identity number as central support types it, turned at once into the pseudonymous patient key.

Access never stores an identity number: the audit trail and the exit are found by the key.
"""

from __future__ import annotations

import re
from datetime import date

from runtime.patient_key import patient_key

_FORMAT = re.compile(r"^(\d{8})-?(\d{4})$")


class InvalidIdentityNumber(ValueError):
    """Why the number is not acceptable. The message never repeats the number."""


def key_of(identity_number: str, secret: str) -> str:
    """The patient key of a personnummer or samordningsnummer (YYYYMMDD-NNNN or YYYYMMDDNNNN)."""
    match = _FORMAT.match(identity_number)
    if not match:
        raise InvalidIdentityNumber("must be 12 digits, written YYYYMMDDNNNN or YYYYMMDD-NNNN")
    digits = match.group(1) + match.group(2)
    day = int(digits[6:8])
    try:
        date(int(digits[0:4]), int(digits[4:6]), day - 60 if day > 60 else day)
    except ValueError:
        raise InvalidIdentityNumber("does not hold a real date of birth") from None
    total = 0
    for index, char in enumerate(digits[2:]):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    if total % 10:
        raise InvalidIdentityNumber("check digit does not match (Luhn)")
    return patient_key(digits, secret)
