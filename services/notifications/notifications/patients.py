"""The patient an HTTP request is about: from the identity number in its path to the patient key.

The identity number (personnummer or samordningsnummer) is only ever turned into the key here; it
is never stored, logged or repeated in an error.
"""

from __future__ import annotations

import re

from runtime.patient_key import patient_key

_FORMAT = re.compile(r"^(\d{8})-?(\d{4})$")


class InvalidIdentityNumber(ValueError):
    """Why an identity number is not acceptable. The message never repeats the number."""


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def key_of(identity_number: str, secret: str) -> str:
    """The patient key of `YYYYMMDDNNNN` or `YYYYMMDD-NNNN`."""
    match = _FORMAT.match(identity_number)
    if not match:
        raise InvalidIdentityNumber("must be 12 digits, written YYYYMMDDNNNN or YYYYMMDD-NNNN")
    digits = match.group(1) + match.group(2)
    if not _luhn_valid(digits[2:]):
        raise InvalidIdentityNumber("check digit does not match (Luhn)")
    return patient_key(digits, secret)
