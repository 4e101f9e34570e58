"""The committed JSON Schemas and AsyncAPI document are what the models generate, and cover the catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts import generate
from contracts.envelope import Envelope
from contracts.topics import CATALOGUE, SYSTEM_TOPICS, Topic

REGENERATE = "run `uv run python -m contracts.generate` and commit the result"


def _asyncapi() -> dict[str, Any]:
    return json.loads(generate.ASYNCAPI_PATH.read_text(encoding="utf-8"))


def _channel(document: dict[str, Any], address: str) -> dict[str, Any]:
    matches = [channel for channel in document["channels"].values() if channel["address"] == address]
    assert len(matches) == 1, f"expected one channel for {address}, found {len(matches)}"
    return matches[0]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_committed_documents_are_not_stale() -> None:
    problems = generate.differences()
    assert not problems, f"the contract documents differ from the models; {REGENERATE}:\n" + "\n".join(problems)


def test_generation_is_deterministic() -> None:
    assert generate.render() == generate.render()


def test_every_catalogue_message_has_a_schema() -> None:
    for topic in CATALOGUE:
        for name in topic.messages:
            path = generate.SCHEMAS_DIR / f"{name}.json"
            assert path.is_file(), f"no schema for {name} (topic {topic.name}); {REGENERATE}"
            schema = json.loads(path.read_text(encoding="utf-8"))
            assert schema["type"] == "object"


def test_event_schemas_show_the_envelope_and_integration_schemas_do_not() -> None:
    envelope_fields = set(Envelope.model_fields)
    for name in ("FeeRegistered", "FreeCardIssued"):
        schema = json.loads((generate.SCHEMAS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert set(schema["properties"]) == envelope_fields
        assert schema["properties"]["payload"] == {"$ref": f"#/$defs/{name}"}
    for name in ("FeeSubmission", "FeeOutcome"):
        schema = json.loads((generate.SCHEMAS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert "payload" not in schema["properties"]
        assert "submission_id" in schema["properties"]


def test_asyncapi_has_a_channel_for_every_topic_and_its_dead_letter_queue() -> None:
    document = _asyncapi()
    assert document["asyncapi"] == "3.0.0"
    for topic in CATALOGUE:
        channel = _channel(document, topic.name)
        assert set(channel["messages"]) == set(topic.messages)
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == topic.partitions
        assert kafka["topicConfiguration"] == {
            "cleanup.policy": [topic.cleanup_policy],
            "retention.ms": topic.retention_ms,
        }

        dead_letter = _channel(document, f"{topic.name}.dlq")
        assert dead_letter["address"] == topic.dead_letter.name
        assert dead_letter["bindings"]["kafka"]["partitions"] == topic.dead_letter.partitions
    for system_topic in SYSTEM_TOPICS:
        channel = _channel(document, system_topic.name.replace("<system-id>", "{systemId}"))
        assert set(channel["messages"]) == set(system_topic.messages)
        assert set(channel["parameters"]) == {"systemId"}
    assert len(document["channels"]) == 2 * len(CATALOGUE) + len(SYSTEM_TOPICS), (
        "a channel that is not in the catalogue"
    )


def test_asyncapi_messages_carry_their_payload_schema_and_key() -> None:
    document = _asyncapi()
    for topic in CATALOGUE:
        for name in topic.messages:
            message = document["components"]["messages"][name]
            assert message["payload"]["$ref"].startswith("#/components/schemas/")
            assert message["bindings"]["kafka"]["key"]["description"] == topic.key
            assert f"publish{name}" in document["operations"]
            assert f"consume{name}" in document["operations"]
            assert document["operations"][f"publish{name}"]["action"] == "send"
            assert document["operations"][f"consume{name}"]["action"] == "receive"


def test_every_reference_in_the_asyncapi_document_resolves() -> None:
    document = _asyncapi()
    for ref in _refs(document):
        assert ref.startswith("#/"), f"{ref} points outside the document"
        assert "$defs" not in ref, f"{ref} was not moved into components/schemas"
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"{ref} does not resolve"
            target = target[part]


def test_a_catalogue_message_without_a_model_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = Topic(name="efrikort.ghosts.v1", partitions=1, key="k", description="d", messages=("GhostAppeared",))
    monkeypatch.setattr(generate, "CATALOGUE", (*CATALOGUE, ghost))
    with pytest.raises(generate.ContractError, match="GhostAppeared"):
        generate.render()


def test_check_reports_missing_and_stale_files_and_write_fixes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(generate, "SCHEMAS_DIR", tmp_path / "schemas")
    monkeypatch.setattr(generate, "ASYNCAPI_PATH", tmp_path / "asyncapi.json")

    assert generate.main(["--check"]) == 1
    assert "missing:" in capsys.readouterr().err

    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0

    (tmp_path / "schemas" / "FeeOutcome.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "schemas" / "Leftover.json").write_text("{}\n", encoding="utf-8")
    assert generate.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "stale:" in err and "FeeOutcome.json" in err
    assert "not generated" in err and "Leftover.json" in err

    assert generate.main([]) == 0
    assert not (tmp_path / "schemas" / "Leftover.json").exists()
    assert generate.differences() == []
