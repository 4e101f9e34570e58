"""Which channel a notice goes by, and how often and when a failing channel is tried again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.notice_events import NoticeChannel
from notifications.delivery_rules import (
    ContactDetails,
    NoticeState,
    RetrySchedule,
    choose_channel,
    missing_for_channel,
)

NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)
SCHEDULE = RetrySchedule(max_attempts=5, initial_delay=timedelta(seconds=30), max_delay=timedelta(minutes=5))


def test_the_preferred_channel_is_used_when_it_can_be() -> None:
    assert choose_channel(ContactDetails(NoticeChannel.EMAIL, email="a@example.se")) == NoticeChannel.EMAIL
    assert (
        choose_channel(ContactDetails(NoticeChannel.WEBHOOK, webhook_url="https://inbox.example/"))
        == NoticeChannel.WEBHOOK
    )


def test_a_letter_is_the_fallback() -> None:
    assert choose_channel(None) == NoticeChannel.LETTER
    assert choose_channel(ContactDetails(NoticeChannel.EMAIL, email=None)) == NoticeChannel.LETTER
    assert choose_channel(ContactDetails(NoticeChannel.WEBHOOK)) == NoticeChannel.LETTER


def test_a_webhook_without_an_endpoint_of_its_own_goes_to_the_regions_default() -> None:
    assert (
        choose_channel(ContactDetails(NoticeChannel.WEBHOOK), webhook_default_url="https://mailbox.example/")
        == NoticeChannel.WEBHOOK
    )


def test_a_preferred_channel_needs_its_address() -> None:
    assert missing_for_channel(NoticeChannel.EMAIL, None, None, []) == "email"
    assert missing_for_channel(NoticeChannel.LETTER, None, None, []) == "postal_address"
    assert missing_for_channel(NoticeChannel.WEBHOOK, None, None, []) is None
    assert missing_for_channel(NoticeChannel.EMAIL, "a@example.se", None, []) is None


def test_the_wait_doubles_after_each_failed_try_up_to_a_cap() -> None:
    waits = [SCHEDULE.delay_after(n).total_seconds() for n in range(1, 7)]
    assert waits == [30, 60, 120, 240, 300, 300]


def test_a_failed_try_is_tried_again_after_the_wait_until_the_last_attempt() -> None:
    assert SCHEDULE.after_failure(1, NOW) == (NoticeState.PENDING, NOW + timedelta(seconds=30))
    assert SCHEDULE.after_failure(4, NOW) == (NoticeState.PENDING, NOW + timedelta(seconds=240))
    assert SCHEDULE.after_failure(5, NOW) == (NoticeState.FAILED, None)


def test_a_failure_no_retry_can_help_fails_at_once() -> None:
    assert SCHEDULE.after_failure(1, NOW, permanent=True) == (NoticeState.FAILED, None)


def test_a_huge_attempt_count_still_waits_only_the_cap() -> None:
    assert SCHEDULE.delay_after(10_000) == timedelta(minutes=5)
