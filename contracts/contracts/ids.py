"""Ids that sort in the order they were made: UUID version 7 (RFC 9562).

A fee's id and an event's id are keys of indexes that grow all year: fees and their versions in
registration and protection, and each consumer's inbox. A random id (version 4) sends every insert to a
page of the index that no recent insert touched. On a ledger of millions that page is cold, and its first
change after a checkpoint writes the whole page to the WAL (measured on a large region's year: 9 such
page images per submission). An id that begins with the time it was made lands on the index's right edge,
a few pages that stay in memory.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime

RANDOM_BITS = 74
"""How many bits of a time-ordered id are random; a caller that gives its own (a seeded generator) gives this many."""
_TIMESTAMP_MASK = (1 << 48) - 1


def time_ordered_id(at: datetime | None = None, random_bits: int | None = None) -> uuid.UUID:
    """A version 7 UUID: the Unix time in milliseconds (`at`, else now) in its first 48 bits, then 74
    random bits (`random_bits`, else from the operating system) around the version and variant fields.
    Ids of a later millisecond sort after those of an earlier one, as bytes and as PostgreSQL's `uuid`."""
    millis = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10)) if random_bits is None else random_bits
    rand &= (1 << RANDOM_BITS) - 1
    return uuid.UUID(
        int=(millis & _TIMESTAMP_MASK) << 80  # unix_ts_ms
        | 0x7 << 76  # version
        | (rand >> 62) << 64  # rand_a: 12 bits
        | 0b10 << 62  # variant (RFC 9562)
        | rand & ((1 << 62) - 1)  # rand_b: 62 bits
    )
