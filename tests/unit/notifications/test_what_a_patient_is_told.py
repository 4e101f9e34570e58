"""Which events become notices, and what the texts tell the patient, in Swedish and in English."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from contracts.events import FreeCardIssued, OverchargeFound, PatientStatusChanged
from contracts.integration import FreeCardStatus, FreeCardSummary
from contracts.notice_events import NoticeLanguage
from notifications.notices import NoticeKind, close_to_ceiling, free_card_issued, overcharge_found
from notifications.rendering import Region, kronor, render

REGION = Region(name="Region Östergötland", phone="010-103 00 00", web="https://www.regionostergotland.se/frikort")
TODAY = date(2025, 9, 1)


def issued() -> FreeCardIssued:
    return FreeCardIssued(
        patient_key="k1",
        number="FK-2025-000123",
        valid_from=date(2025, 8, 23),
        valid_to=date(2026, 4, 24),
        status=FreeCardStatus.PRELIMINARY,
        period_start=date(2025, 4, 25),
        ceiling=1450,
    )


def overcharge() -> OverchargeFound:
    return OverchargeFound(
        overcharge_id=uuid4(),
        patient_key="k1",
        fee_id=uuid4(),
        care_unit="SE2321000016-U007",
        visit_date=date(2025, 9, 2),
        fee_type="doctor_visit",
        paid_amount=300,
        amount_due=0,
        amount=300,
        found_at=datetime(2025, 9, 10, tzinfo=UTC),
    )


def status(
    remaining: int,
    status: FreeCardStatus = FreeCardStatus.BELOW_LIMIT,
    period_start: date | None = date(2025, 4, 25),
    free_card: FreeCardSummary | None = None,
) -> PatientStatusChanged:
    return PatientStatusChanged(
        patient_key="k1",
        as_of=TODAY,
        status=status,
        period_start=period_start,
        ceiling=1450,
        sum=1450 - remaining,
        remaining=remaining,
        free_card=free_card,
    )


@pytest.mark.parametrize("language", list(NoticeLanguage))
def test_the_free_card_notice_gives_the_number_and_the_dates_and_whom_to_ask(language: NoticeLanguage) -> None:
    notice = free_card_issued("event-1", issued())
    texts = render(notice.kind, language, notice.facts, REGION)
    for part in (texts.text, texts.html):
        assert "FK-2025-000123" in part
        assert "2025-08-23" in part and "2026-04-24" in part
        assert REGION.name in part and REGION.phone in part and REGION.web in part


def test_the_swedish_free_card_notice_says_what_it_means_for_the_patient() -> None:
    notice = free_card_issued("event-1", issued())
    texts = render(notice.kind, NoticeLanguage.SWEDISH, notice.facts, REGION, name="Åsa Öberg")
    assert texts.subject == "Du har fått frikort"
    assert texts.text.startswith("Hej Åsa Öberg!\n\n")
    assert "inte betalar några patientavgifter" in texts.text
    assert kronor(1450) in texts.text


def test_the_english_free_card_notice_is_in_english() -> None:
    notice = free_card_issued("event-1", issued())
    texts = render(notice.kind, NoticeLanguage.ENGLISH, notice.facts, REGION)
    assert texts.subject == "You have been given a free card"
    assert "you pay no patient fees" in texts.text


@pytest.mark.parametrize("language", list(NoticeLanguage))
def test_an_overcharge_notice_names_the_unit_that_owes_the_refund_and_how_much(language: NoticeLanguage) -> None:
    notice = overcharge_found("event-2", overcharge())
    assert notice.kind == NoticeKind.OVERCHARGE_FOUND
    texts = render(notice.kind, language, notice.facts, REGION)
    assert "SE2321000016-U007" in texts.text
    assert kronor(300) in texts.text and "2025-09-02" in texts.text


def test_a_name_is_escaped_in_the_html_part() -> None:
    notice = free_card_issued("event-1", issued())
    texts = render(notice.kind, NoticeLanguage.SWEDISH, notice.facts, REGION, name="<script>x</script>")
    assert "<script>" not in texts.html and "&lt;script&gt;" in texts.html


def test_amounts_are_written_the_swedish_way() -> None:
    assert kronor(1450) == "1\u00a0450\u00a0kr"
    assert kronor(50) == "50\u00a0kr"


def test_close_to_ceiling_is_off_unless_the_region_switches_it_on() -> None:
    assert close_to_ceiling(status(remaining=100), threshold_kronor=None, today=TODAY) is None


def test_close_to_ceiling_when_no_more_than_the_threshold_is_left() -> None:
    assert close_to_ceiling(status(remaining=301), threshold_kronor=300, today=TODAY) is None
    notice = close_to_ceiling(status(remaining=300), threshold_kronor=300, today=TODAY)
    assert notice is not None and notice.kind == NoticeKind.CLOSE_TO_CEILING
    assert notice.facts["remaining"] == 300


def test_close_to_ceiling_is_told_once_per_period_however_many_fees_follow() -> None:
    first = close_to_ceiling(status(remaining=300), threshold_kronor=300, today=TODAY)
    second = close_to_ceiling(status(remaining=150), threshold_kronor=300, today=TODAY)
    assert first is not None and second is not None
    assert first.cause == second.cause == "close_to_ceiling/2025-04-25"


def test_no_close_to_ceiling_once_the_ceiling_is_reached_or_the_period_has_run_out() -> None:
    assert close_to_ceiling(status(remaining=0), threshold_kronor=300, today=TODAY) is None
    assert close_to_ceiling(status(remaining=100, status=FreeCardStatus.PRELIMINARY), 300, today=TODAY) is None
    assert close_to_ceiling(status(remaining=100, period_start=None), 300, today=TODAY) is None
    assert close_to_ceiling(status(remaining=100), 300, today=date(2026, 4, 25)) is None
