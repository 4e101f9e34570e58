"""What a text field may hold: printable characters only, whoever typed it.

A control character has no place in any field of ours, and some break what comes after: PostgreSQL
refuses NUL in text (a statement with one fails, and used to be retried into a dead letter or end a
request in a 500), a line break forges log lines. A lone surrogate (a JSON `\\ud800` escape) is no
character at all: it cannot be written as UTF-8, so it could be neither stored nor answered. The
refusal names the field and never repeats the value (it may be personal data).
"""

from __future__ import annotations

import re

REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})
"""Control characters (C0, DEL, C1: NUL, tab, line breaks among them) and surrogates."""

_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Every character of `REFUSED_CATEGORIES`, as ranges (a test holds them equal over every code point): one
search in C, where asking `unicodedata.category` of each character was a twentieth of registration's time."""


def printable(value: str) -> bool:
    """No control character and no lone surrogate in it."""
    return _REFUSED.search(value) is None


def no_control_characters(value: str) -> str:
    """A pydantic validator: the value as it is, or a refusal that never quotes it."""
    if not printable(value):
        raise ValueError("control characters (such as NUL, tab or line breaks) are not allowed")
    return value
