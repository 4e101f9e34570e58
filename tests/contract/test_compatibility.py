"""Within a major version, a schema may only change in ways existing producers and consumers survive."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from contracts import generate
from contracts.compatibility import check_compatible

Schema = dict[str, Any]


def _object(properties: Schema, required: tuple[str, ...] = (), **keywords: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": list(required), **keywords}


STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"anyOf": [{"type": "string"}, {"type": "null"}]}
PUBLISHED = _object({"a": STRING, "b": NULLABLE_STRING}, required=("a",))


# --- the released contract ---------------------------------------------------------------------


def test_current_schemas_are_compatible_with_the_published_ones() -> None:
    current = generate.schemas()
    for name, schema in current.items():
        path = generate.published_path(name)
        assert path.is_file(), f"{name} is not published; run `uv run python -m contracts.generate --publish`"
        published = json.loads(path.read_text(encoding="utf-8"))
        breaking = check_compatible(published, schema)
        assert not breaking, (
            f"{name} changed in a way that breaks existing consumers of {path.parent.name}. Keep the change "
            "compatible (add optional fields only), or publish it as a new major version on a new .v<N+1> topic:\n"
            + "\n".join(breaking)
        )


def test_every_published_schema_still_has_its_message() -> None:
    current = generate.schemas()
    for path in sorted(generate.PUBLISHED_DIR.glob("v*/*.json")):
        name = path.stem
        assert name in current, f"{path.parent.name}/{name} was published but no topic carries it any more"
        assert generate.published_path(name) == path, f"{name} moved to another major version than {path}"


def test_publish_refuses_a_breaking_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "PUBLISHED_DIR", tmp_path)
    written, breaking = generate.publish()
    assert breaking == [] and len(written) == len(generate.schemas())

    narrowed = copy.deepcopy(generate.schemas())
    narrowed["FeeSubmission"]["properties"]["fee_amount"] = {"type": "string"}
    monkeypatch.setattr(generate, "schemas", lambda: narrowed)
    written, breaking = generate.publish()
    assert written == []
    assert breaking == ["FeeSubmission: $.fee_amount: type changed from integer to string"]


# --- the checker itself ------------------------------------------------------------------------


def test_identical_schemas_are_compatible() -> None:
    assert check_compatible(PUBLISHED, copy.deepcopy(PUBLISHED)) == []


def test_adding_an_optional_property_is_compatible() -> None:
    current = _object({"a": STRING, "b": NULLABLE_STRING, "c": {"type": "integer"}}, required=("a",))
    assert check_compatible(PUBLISHED, current) == []


def test_widening_is_compatible() -> None:
    current = _object(
        {"a": {"anyOf": [STRING, {"type": "integer"}]}, "b": NULLABLE_STRING},
        required=(),
    )
    assert check_compatible(PUBLISHED, current) == []
    assert check_compatible(_object({"n": {"type": "integer"}}), _object({"n": {"type": "number"}})) == []


def test_a_removed_property_breaks() -> None:
    current = _object({"a": STRING}, required=("a",))
    assert check_compatible(PUBLISHED, current) == ["$.b: property removed"]


def test_a_newly_required_property_breaks() -> None:
    current = _object({"a": STRING, "b": NULLABLE_STRING}, required=("a", "b"))
    assert check_compatible(PUBLISHED, current) == ["$.b: property newly required"]


def test_adding_a_required_property_breaks() -> None:
    current = _object({"a": STRING, "b": NULLABLE_STRING, "c": STRING}, required=("a", "c"))
    assert check_compatible(PUBLISHED, current) == ["$.c: property newly required"]


def test_a_changed_type_breaks() -> None:
    current = _object({"a": {"type": "integer"}, "b": NULLABLE_STRING}, required=("a",))
    assert check_compatible(PUBLISHED, current) == ["$.a: type changed from string to integer"]


def test_number_narrowed_to_integer_breaks() -> None:
    assert check_compatible(_object({"n": {"type": "number"}}), _object({"n": {"type": "integer"}})) == [
        "$.n: type changed from number to integer"
    ]


def test_nullable_made_non_nullable_breaks() -> None:
    current = _object({"a": STRING, "b": STRING}, required=("a",))
    assert check_compatible(PUBLISHED, current) == ["$.b: no longer nullable"]


def test_an_enum_missing_a_published_value_breaks() -> None:
    published = _object({"s": {"type": "string", "enum": ["visit", "receipt"]}})
    current = _object({"s": {"type": "string", "enum": ["visit"]}})
    assert check_compatible(published, current) == ["$.s: enum value 'receipt' removed"]


def test_an_enum_gaining_a_value_is_compatible() -> None:
    published = _object({"s": {"type": "string", "enum": ["visit"]}})
    current = _object({"s": {"type": "string", "enum": ["visit", "receipt"]}})
    assert check_compatible(published, current) == []


def test_a_free_string_restricted_to_an_enum_breaks() -> None:
    current = _object({"a": {"type": "string", "enum": ["x", "y"]}, "b": NULLABLE_STRING}, required=("a",))
    assert check_compatible(PUBLISHED, current) == ["$.a: now restricted to the values 'x', 'y'"]


def test_additional_properties_false_newly_added_breaks() -> None:
    current = {**copy.deepcopy(PUBLISHED), "additionalProperties": False}
    assert check_compatible(PUBLISHED, current) == [
        "$: additionalProperties: false newly added (unknown properties now refused)"
    ]


def test_string_length_limits_tightened_break() -> None:
    published = _object({"a": {"type": "string", "minLength": 1, "maxLength": 64}, "b": STRING})
    current = _object(
        {"a": {"type": "string", "minLength": 2, "maxLength": 32}, "b": {"type": "string", "maxLength": 10}}
    )
    assert check_compatible(published, current) == [
        "$.a: minLength raised from 1 to 2",
        "$.a: maxLength lowered from 64 to 32",
        "$.b: maxLength lowered from unbounded to 10",
    ]


def test_string_length_limits_loosened_are_compatible() -> None:
    published = _object({"a": {"type": "string", "minLength": 2, "maxLength": 32}})
    current = _object({"a": {"type": "string", "minLength": 1}})
    assert check_compatible(published, current) == []


def test_a_new_format_or_pattern_breaks() -> None:
    current = _object({"a": {"type": "string", "format": "date"}, "b": NULLABLE_STRING}, required=("a",))
    assert check_compatible(PUBLISHED, current) == ["$.a: format changed from none to 'date'"]
    current = _object({"a": {"type": "string", "pattern": "^SE"}, "b": NULLABLE_STRING}, required=("a",))
    assert check_compatible(PUBLISHED, current) == ["$.a: pattern changed from none to '^SE'"]


# Real pydantic output: nested models through $ref/$defs, `X | None` as anyOf, lists as items.


class _CardV1(BaseModel):
    number: str
    status: str


class _ReasonV1(BaseModel):
    code: str
    message: str


class _OutcomeV1(BaseModel):
    card: _CardV1 | None = None
    reasons: list[_ReasonV1]


class _CardV2(BaseModel):
    number: int
    status: str


class _ReasonV2(BaseModel):
    message: str


class _OutcomeV2(BaseModel):
    card: _CardV2 | None = None
    reasons: list[_ReasonV2]


def test_changes_are_found_through_refs_defs_any_of_and_array_items() -> None:
    assert check_compatible(_OutcomeV1.model_json_schema(), _OutcomeV2.model_json_schema()) == [
        "$.card.number: type changed from string to integer",
        "$.reasons[].code: property removed",
    ]


class _Node(BaseModel):
    name: str
    parent: _Node | None = None
    children: list[_Node] = []


def test_recursive_models_terminate() -> None:
    schema = _Node.model_json_schema()
    assert check_compatible(schema, copy.deepcopy(schema)) == []
    narrowed = copy.deepcopy(schema)
    narrowed["$defs"]["_Node"]["properties"]["name"]["maxLength"] = 10
    assert check_compatible(schema, narrowed) == ["$.name: maxLength lowered from unbounded to 10"]


def test_breaking_changes_to_the_real_submission_schema_are_caught() -> None:
    published = generate.schemas()["FeeSubmission"]
    current = copy.deepcopy(published)
    del current["properties"]["paid_amount"]
    current["$defs"]["FeeSource"]["enum"].remove("receipt")
    current["required"].append("receipt_issuer")
    assert check_compatible(published, current) == [
        "$.paid_amount: property removed",
        "$.source: enum value 'receipt' removed",
        "$.receipt_issuer: property newly required",
    ]
