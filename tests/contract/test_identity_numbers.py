"""DOMAIN.md, people: a patient is identified by a personnummer (12 digits YYYYMMDDNNNN, the last
digit a Luhn check over the last ten) or a samordningsnummer (the same, with 60 added to the day).
Accept YYYYMMDD-NNNN and YYYYMMDDNNNN; reject anything else with a clear reason."""

from datetime import date

import pytest

from contracts.identity import IdentityNumber, InvalidIdentityNumber, luhn_valid, with_check_digit


def test_both_written_forms_give_the_same_twelve_digits_and_birth_date() -> None:
    with_hyphen = IdentityNumber.parse("19850412-1230")
    without = IdentityNumber.parse("198504121230")
    assert with_hyphen == without
    assert with_hyphen.digits == "198504121230"
    assert with_hyphen.birth_date == date(1985, 4, 12)
    assert not with_hyphen.coordination


def test_a_coordination_number_has_sixty_added_to_the_day() -> None:
    number = IdentityNumber.parse("19850472-1237")
    assert number.coordination
    assert number.birth_date == date(1985, 4, 12)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("19850412-1231", "check digit"),
        ("8504121230", "12 digits"),
        ("19850412+1230", "12 digits"),
        ("1985-04-12-1230", "12 digits"),
        ("19850230-1234", "real date"),
        ("", "12 digits"),
    ],
)
def test_anything_else_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentityNumber, match=reason):
        IdentityNumber.parse(text)


def test_the_number_never_shows_in_its_text_form() -> None:
    number = IdentityNumber.parse("19850412-1230")
    assert "1230" not in repr(number) and "1230" not in str(number)


def test_the_check_digit_is_the_luhn_digit_over_the_last_ten() -> None:
    assert with_check_digit("19850412123") == "198504121230"
    assert luhn_valid(with_check_digit("20010101999")[2:])
    assert not luhn_valid("8504121231")
