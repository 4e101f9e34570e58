"""The bounds of the integration contract's edge: what each is, that they fit what lies behind them
(PostgreSQL's integer, the region's rules, the parsers), and that the README says them."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.integration import (
    MAX_FEE_AMOUNT,
    MAX_NESTING_DEPTH,
    MAX_STRING_LENGTH,
    MAX_SUBMISSION_BYTES,
    FeeSubmission,
    nested_deeper_than,
)
from protection.regions import RegionSettings
from registration.settings import RegistrationSettings
from registration.submission_rules import RejectionCode

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
POSTGRES_INTEGER_MAX = 2**31 - 1


def test_the_largest_fee_is_far_above_any_ceiling_and_far_below_the_databases_integer() -> None:
    ceilings = [rules.ceiling for _, rules in RegionSettings.load().changes]
    assert 10 * max(ceilings) <= MAX_FEE_AMOUNT
    # A period's sum, an overcharge or a refund is made of amounts no larger: room for ten thousand of them.
    assert MAX_FEE_AMOUNT * 10_000 < POSTGRES_INTEGER_MAX


def test_registration_rejects_visits_from_before_the_first_day_the_bundled_region_rules_cover() -> None:
    first_change = RegionSettings.load().changes[0][0]
    assert RegistrationSettings.model_fields["first_visit_date"].default == first_change


def test_every_string_of_a_submission_is_bounded() -> None:
    schema = FeeSubmission.model_json_schema()
    for name, field in schema["properties"].items():
        kinds = field.get("anyOf", [field])
        for kind in kinds:
            if kind.get("type") == "string" and "enum" not in kind and "format" not in kind:
                assert 0 < kind.get("maxLength", 0) <= MAX_STRING_LENGTH, name


def test_nesting_is_bounded_far_below_what_any_parser_refuses_and_a_submission_needs_none() -> None:
    assert 1 <= MAX_NESTING_DEPTH <= 32
    assert not nested_deeper_than(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[["}')  # brackets in strings do not count
    assert nested_deeper_than(b"[" * (MAX_NESTING_DEPTH + 1))
    assert not nested_deeper_than(b"[" * MAX_NESTING_DEPTH)


@pytest.mark.parametrize(
    "said",
    [
        f"{MAX_SUBMISSION_BYTES // 1024} KiB",
        f"nest at most {MAX_NESTING_DEPTH}",
        f"{MAX_FEE_AMOUNT:,}".replace(",", " ") + " kr",
        "EFRIKORT_REGISTRATION_FIRST_VISIT_DATE",
        "ASCII digits",
        "control character",
        "with a readable `submission_id` gets exactly",
    ],
)
def test_the_readme_states_the_bounds(said: str) -> None:
    assert said in README


@pytest.mark.parametrize("code", [c.value for c in RejectionCode])
def test_the_readme_names_every_rejection_code(code: str) -> None:
    assert f"`{code}`" in README
