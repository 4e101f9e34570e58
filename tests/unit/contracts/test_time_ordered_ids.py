"""Fee and event ids sort in the order they were made (UUID version 7), so that the indexes a year of
fees grows insert at their right edge instead of on a random cold page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from contracts.envelope import Envelope, Event
from contracts.ids import RANDOM_BITS, time_ordered_id


def test_an_id_is_a_version_7_uuid_of_the_rfc_variant() -> None:
    made = time_ordered_id()
    assert made.version == 7
    assert made.variant == uuid.RFC_4122


def test_an_id_begins_with_the_millisecond_it_was_made_in() -> None:
    at = datetime(2026, 12, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    assert time_ordered_id(at).int >> 80 == int(at.timestamp() * 1000)


def test_ids_of_a_later_millisecond_sort_after_those_of_an_earlier_one_whatever_their_random_part() -> None:
    at = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    earlier = time_ordered_id(at, random_bits=(1 << RANDOM_BITS) - 1)
    later = time_ordered_id(at + timedelta(milliseconds=1), random_bits=0)
    assert earlier < later
    assert earlier.bytes < later.bytes  # PostgreSQL's uuid compares as bytes
    assert str(earlier) < str(later)


def test_ids_made_in_the_same_millisecond_differ() -> None:
    at = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    assert len({time_ordered_id(at) for _ in range(10_000)}) == 10_000


def test_the_given_random_bits_make_the_id_repeatable() -> None:
    at = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    assert time_ordered_id(at, 12345) == time_ordered_id(at, 12345)
    assert time_ordered_id(at, 12345) != time_ordered_id(at, 12346)


class Happened(Event):
    event_type: ClassVar[str] = "Happened"


def test_an_event_is_wrapped_under_a_time_ordered_id() -> None:
    first = Envelope.wrap(Happened(), producer="test", correlation_id="c").event_id
    assert first.version == 7
    assert abs((first.int >> 80) - datetime.now(UTC).timestamp() * 1000) < 60_000
