"""The identity number as central support types it, turned at once into the pseudonymous patient key.

Access never stores an identity number: the audit trail and the exit are found by the key.
"""

from __future__ import annotations

from contracts.identity import IdentityNumber, InvalidIdentityNumber
from runtime.patient_key import patient_key

__all__ = ["InvalidIdentityNumber", "key_of"]


def key_of(identity_number: str, secret: str) -> str:
    """The patient key of a personnummer or samordningsnummer (YYYYMMDD-NNNN or YYYYMMDDNNNN)."""
    return patient_key(IdentityNumber.parse(identity_number).digits, secret)
