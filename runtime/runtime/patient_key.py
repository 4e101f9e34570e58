"""The pseudonymous patient key: a keyed hash of the identity number.

Patient streams are keyed by it and services store it instead of the identity number, so that
no personnummer appears in a Kafka key, a table of an internal service, a log line or a metric.
Without the secret the key cannot be turned back into the number, nor computed from a guess.
"""

from __future__ import annotations

import hashlib
import hmac


def patient_key(identity_number: str, secret: str) -> str:
    """`identity_number` in its normalised 12-digit form, so both written forms give one key."""
    if len(identity_number) != 12 or not (identity_number.isascii() and identity_number.isdigit()):
        raise ValueError("patient_key needs the normalised 12-digit identity number")
    return hmac.new(secret.encode(), identity_number.encode(), hashlib.sha256).hexdigest()
