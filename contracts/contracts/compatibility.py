"""Is a message schema still compatible with the one that was published?

`published/v<major>/` holds the schemas as released. Within a major version a schema may only grow
in ways an existing party keeps working with: adding an optional property is fine. Anything that
makes a message that was valid under the published schema invalid under the current one breaks
someone (a producer still sending the old shape, or a consumer replaying retained messages), and so
does removing a property a consumer reads. Such a change needs a new major version: a `.v<N+1>` topic.

The checker understands the JSON Schema pydantic writes: objects, arrays, scalars, enums, `$ref`
into `$defs`, and `anyOf`/`oneOf` (pydantic's way of saying optional or union). It is deliberately
small; what it does not understand it leaves alone rather than guessing.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_ANY = "any"
"""A schema with no `type` accepts every type."""

# Tightening a lower bound or adding an upper one rejects messages that were valid before.
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")


def check_compatible(published: Schema, current: Schema) -> list[str]:
    """The breaking changes from `published` to `current`, one readable line each; empty if none."""
    checker = _Checker(published, current)
    checker.compare(published, current, "$")
    return checker.problems


class _Checker:
    def __init__(self, published_root: Schema, current_root: Schema) -> None:
        self.published_root = published_root
        self.current_root = current_root
        self.problems: list[str] = []
        self._seen_refs: set[tuple[str, str, str]] = set()

    def compare(self, published: Schema, current: Schema, path: str) -> None:
        published_variants = _variants(self.published_root, published)
        current_variants = _variants(self.current_root, current)
        published_types = {t for _, variant in published_variants for t in _types(variant)}
        current_types = {t for _, variant in current_variants for t in _types(variant)}

        if _ANY not in current_types:
            lost = {t for t in published_types if not _accepts(current_types, t)}
            if lost == {"null"}:
                self.problems.append(f"{path}: no longer nullable")
            elif lost:
                self.problems.append(
                    f"{path}: type changed from {_type_names(published_types)} to {_type_names(current_types)}"
                )

        for published_ref, published_variant in published_variants:
            for type_name in sorted(_types(published_variant) - {"null"}):
                match = _variant_of_type(current_variants, type_name)
                if match is None:
                    continue
                current_ref, current_variant = match
                if published_ref and current_ref:
                    # Recursive models refer to themselves, and shared definitions need judging once.
                    seen = (published_ref, current_ref, type_name)
                    if seen in self._seen_refs:
                        continue
                    self._seen_refs.add(seen)
                self._compare_same_type(published_variant, current_variant, type_name, path)

    def _compare_same_type(self, published: Schema, current: Schema, type_name: str, path: str) -> None:
        self._compare_values(published, current, path)
        self._compare_bounds(published, current, path)
        if type_name == "object":
            self._compare_objects(published, current, path)
        elif (
            type_name == "array" and isinstance(published.get("items"), dict) and isinstance(current.get("items"), dict)
        ):
            self.compare(published["items"], current["items"], f"{path}[]")

    def _compare_values(self, published: Schema, current: Schema, path: str) -> None:
        current_allowed = _allowed_values(current)
        if current_allowed is not None:
            published_allowed = _allowed_values(published)
            if published_allowed is None:
                self.problems.append(f"{path}: now restricted to the values {_listed(current_allowed)}")
            else:
                for value in published_allowed:
                    if value not in current_allowed:
                        self.problems.append(f"{path}: enum value {value!r} removed")
        for keyword in ("pattern", "format"):
            if keyword in current and current[keyword] != published.get(keyword):
                was = f"{published[keyword]!r}" if keyword in published else "none"
                self.problems.append(f"{path}: {keyword} changed from {was} to {current[keyword]!r}")

    def _compare_bounds(self, published: Schema, current: Schema, path: str) -> None:
        for keyword in _LOWER_BOUNDS:
            if keyword in current and (keyword not in published or current[keyword] > published[keyword]):
                self.problems.append(
                    f"{path}: {keyword} raised from {published.get(keyword, 'none')} to {current[keyword]}"
                )
        for keyword in _UPPER_BOUNDS:
            if keyword in current and (keyword not in published or current[keyword] < published[keyword]):
                self.problems.append(
                    f"{path}: {keyword} lowered from {published.get(keyword, 'unbounded')} to {current[keyword]}"
                )

    def _compare_objects(self, published: Schema, current: Schema, path: str) -> None:
        published_properties: Schema = published.get("properties", {})
        current_properties: Schema = current.get("properties", {})
        for name, published_property in published_properties.items():
            if name not in current_properties:
                self.problems.append(f"{path}.{name}: property removed")
            else:
                self.compare(published_property, current_properties[name], f"{path}.{name}")
        newly_required = set(current.get("required", ())) - set(published.get("required", ()))
        for name in sorted(newly_required):
            self.problems.append(f"{path}.{name}: property newly required")
        if current.get("additionalProperties") is False and published.get("additionalProperties") is not False:
            self.problems.append(f"{path}: additionalProperties: false newly added (unknown properties now refused)")


def _variants(root: Schema, schema: Schema, ref: str = "") -> list[tuple[str, Schema]]:
    """The alternatives a value may take, each with the `$ref` it came through ("" if inline).

    anyOf/oneOf branches are alternatives (pydantic writes `X | None` so); a `$ref` is followed within
    the same document, keeping the keywords beside it (a default); a lone allOf is unwrapped.
    """
    if not isinstance(schema, dict):
        # A boolean schema: `true` accepts anything; `false` never appears in what pydantic writes.
        return [(ref, {})]
    if isinstance(schema.get("$ref"), str):
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return _variants(root, {**target, **siblings}, schema["$ref"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list) and branches:
        return [variant for branch in branches for variant in _variants(root, branch)]
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return _variants(root, all_of[0], ref)
    return [(ref, schema)]


def _types(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    if "properties" in schema:
        return {"object"}
    values = _allowed_values(schema)
    if values is not None:
        return {_json_type(value) for value in values}
    return {_ANY}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _accepts(types: set[str], type_name: str) -> bool:
    # JSON Schema's number includes the integers.
    return type_name in types or (type_name == "integer" and "number" in types)


def _variant_of_type(variants: list[tuple[str, Schema]], type_name: str) -> tuple[str, Schema] | None:
    for ref, variant in variants:
        if _accepts(_types(variant), type_name):
            return ref, variant
    return None


def _allowed_values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _type_names(types: set[str]) -> str:
    return " | ".join(sorted(types))


def _listed(values: list[Any]) -> str:
    return ", ".join(repr(value) for value in values)
