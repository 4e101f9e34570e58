"""Generate the JSON Schemas and the AsyncAPI document from the contract models.

    python -m contracts.generate            write schemas/*.json and asyncapi.json
    python -m contracts.generate --check    exit 1 when a committed file differs from what the code generates
    python -m contracts.generate --publish  also freeze the current schemas into published/v<major>/

The files are committed so that people and tools outside Python can read the contract; the contract
tests call `differences()` so that they can never drift from the models.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from contracts import integration
from contracts.compatibility import check_compatible
from contracts.envelope import Envelope
from contracts.events import ALL_EVENTS
from contracts.integration import INTEGRATION_CONTRACT_MAJOR
from contracts.topics import CATALOGUE, SYSTEM_TOPICS, SystemTopic, Topic

ROOT = Path(__file__).resolve().parent.parent
"""The `contracts/` project folder; every generated path is relative to it."""
SCHEMAS_DIR = ROOT / "schemas"
ASYNCAPI_PATH = ROOT / "asyncapi.json"
PUBLISHED_DIR = ROOT / "published"

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
# Validation mode: the schema then says what a reader's model accepts, which is the side that breaks.
# For these models the serialization schema is identical today.
SCHEMA_MODE: Literal["validation", "serialization"] = "validation"

JsonObject = dict[str, Any]


class ContractError(Exception):
    """The catalogue and the models disagree; the documents cannot be generated."""


# --- which model each catalogue message is -------------------------------------------------------


def _integration_models() -> dict[str, type[BaseModel]]:
    return {
        name: value
        for name, value in vars(integration).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == integration.__name__
    }


def _event_types() -> dict[str, type[BaseModel]]:
    # Keyed by event_type, the name consumers dispatch on, so the schema file is named as the wire names it.
    return {event.event_type: event for event in ALL_EVENTS}


def message_models() -> dict[str, type[BaseModel]]:
    """Every message the catalogue names, as the model that is on the wire.

    Integration messages travel bare; internal events travel in the envelope, so their model is
    `Envelope[Event]` and consumers see the envelope in the schema.
    """
    bare = _integration_models()
    events = _event_types()
    models: dict[str, type[BaseModel]] = {}
    missing: list[str] = []
    for topic in every_topic():
        for name in topic.messages:
            if name in events:
                models[name] = Envelope[events[name]]  # type: ignore[valid-type]
            elif name in bare:
                models[name] = bare[name]
            else:
                missing.append(f"{name} (topic {topic.name})")
    if missing:
        raise ContractError(
            "the topic catalogue names messages with no model in contracts.integration or "
            f"contracts.events.ALL_EVENTS: {', '.join(missing)}"
        )
    return dict(sorted(models.items()))


def is_event(name: str) -> bool:
    return name in _event_types()


def every_topic() -> list[Topic | SystemTopic]:
    """The catalogue's topics, then the integration contract's, one of each per integrated system."""
    return [*CATALOGUE, *SYSTEM_TOPICS]


def major_version(topic: Topic) -> int:
    match = re.fullmatch(r"efrikort\.[a-z0-9-]+\.v(\d+)", topic.name)
    if match is None:
        raise ContractError(f"topic {topic.name!r} is not named efrikort.<stream>.v<major>")
    return int(match.group(1))


def _topics_of(name: str) -> list[Topic | SystemTopic]:
    return [topic for topic in every_topic() if name in topic.messages]


def message_major(name: str) -> int:
    """An event's major version is its topic's: a breaking change means a new `.v<N+1>` topic. The
    integration contract's messages are versioned as that contract: its major is where they are published
    (v2 moved every system to topics of its own, whose names keep their stream's `.v1`)."""
    if name in _integration_models():
        return INTEGRATION_CONTRACT_MAJOR
    majors = {major_version(topic) for topic in _topics_of(name) if isinstance(topic, Topic)}
    if len(majors) != 1:
        raise ContractError(f"message {name} is on topics of several major versions: {sorted(majors)}")
    return majors.pop()


# --- JSON Schema ---------------------------------------------------------------------------------


def message_schema(name: str, model: type[BaseModel]) -> JsonObject:
    schema = model.model_json_schema(mode=SCHEMA_MODE)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def schemas() -> dict[str, JsonObject]:
    return {name: message_schema(name, model) for name, model in message_models().items()}


# --- AsyncAPI ------------------------------------------------------------------------------------


def channel_id(topic: Topic) -> str:
    """`efrikort.fee-submissions.v1` -> `feeSubmissionsV1`, `....v1.dlq` -> `feeSubmissionsV1Dlq`.

    Channel ids end up in `$ref` pointers, so they are kept to letters and digits.
    """
    words = re.split(r"[.\-]", topic.name.removeprefix("efrikort."))
    return words[0] + "".join(word[:1].upper() + word[1:] for word in words[1:])


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/", 1)
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _add_component(components: JsonObject, name: str, schema: JsonObject) -> None:
    # Two models may share a nested model (FeeSource); a clash with different content would silently
    # give one message the other's type, so it stops the generator instead.
    if name in components and components[name] != schema:
        raise ContractError(f"two different schemas are both named {name!r}; rename one of the models")
    components[name] = schema


def _schema_components(message_schemas: Mapping[str, JsonObject]) -> tuple[JsonObject, dict[str, str]]:
    """All schemas moved into components/schemas, and the component name of each message's payload."""
    components: JsonObject = {}
    payload_names: dict[str, str] = {}
    for name, schema in message_schemas.items():
        body = copy.deepcopy(schema)
        body.pop("$schema", None)
        for def_name, definition in body.pop("$defs", {}).items():
            _add_component(components, def_name, _rewrite_refs(definition))
        # An event's payload model already takes the event's name, so its envelope needs another.
        payload_name = f"{name}Envelope" if is_event(name) else name
        _add_component(components, payload_name, _rewrite_refs(body))
        payload_names[name] = payload_name
    return components, payload_names


def _summary(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else model.__name__


def _message_key(name: str) -> str:
    keys = {topic.key for topic in _topics_of(name)}
    if len(keys) != 1:
        raise ContractError(f"message {name} is on topics with different keys: {sorted(keys)}")
    return keys.pop()


def _kafka_channel_binding(topic: Topic | SystemTopic) -> JsonObject:
    return {
        "bindingVersion": KAFKA_BINDING_VERSION,
        "partitions": topic.partitions,
        "topicConfiguration": {
            "cleanup.policy": [topic.cleanup_policy if isinstance(topic, Topic) else "delete"],
            "retention.ms": topic.retention_ms,
        },
    }


def _message_component(name: str, payload_name: str) -> JsonObject:
    model = message_models()[name]
    payload_model = _event_types()[name] if is_event(name) else model
    # Events correlate through the envelope; integration messages through the sender's submission_id.
    correlation = "correlation_id" if is_event(name) else "submission_id"
    return {
        "name": name,
        "title": name,
        "summary": _summary(payload_model),
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{payload_name}"},
        "correlationId": {"location": f"$message.payload#/{correlation}"},
        "bindings": {
            "kafka": {
                "bindingVersion": KAFKA_BINDING_VERSION,
                "key": {"type": "string", "description": _message_key(name)},
            }
        },
    }


DEAD_LETTER_MESSAGE: JsonObject = {
    "name": "DeadLetter",
    "title": "DeadLetter",
    "summary": "A message that could not be processed after bounded retries.",
    "description": (
        "The original message, value and key unchanged (it may not even be JSON), with the error and the "
        "original topic, partition and offset in headers. Counted and alerted on; never dropped silently."
    ),
    "contentType": "application/octet-stream",
    "payload": {"description": "The original message value, byte for byte."},
}


def _operation(action: str, channel: str, message_ref: str, summary: str) -> JsonObject:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": message_ref}],
        "summary": summary,
    }


def _capitalised(word: str) -> str:
    return word[:1].upper() + word[1:]


def asyncapi(message_schemas: Mapping[str, JsonObject] | None = None) -> JsonObject:
    message_schemas = schemas() if message_schemas is None else message_schemas
    schema_components, payload_names = _schema_components(message_schemas)
    messages: JsonObject = {"DeadLetter": DEAD_LETTER_MESSAGE}
    channels: JsonObject = {}
    operations: JsonObject = {}
    for topic in CATALOGUE:
        _add_topic(topic, payload_names, channels, operations, messages)
        _add_dead_letter_topic(topic, channels, operations)
    for system_topic in SYSTEM_TOPICS:
        _add_system_topic(system_topic, payload_names, channels, operations, messages)
    return {
        "asyncapi": "3.0.0",
        "info": INFO | {"version": importlib.metadata.version("efrikort-contracts")},
        "defaultContentType": "application/json",
        "servers": SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schema_components, "messages": messages},
    }


INFO: JsonObject = {
    "title": "e-frikort",
    "description": (
        "Messages of e-frikort, the digital high-cost protection for outpatient care. Integration contract "
        f"v{INTEGRATION_CONTRACT_MAJOR}: each integrated journal and cash system, as its own Kafka principal, "
        "publishes FeeSubmission as bare JSON on its own efrikort.systems.<system-id>.fee-submissions.v1 and "
        "reads FeeOutcome from its own efrikort.systems.<system-id>.fee-outcomes.v1 (v1's shared "
        "efrikort.fee-submissions.v1 and efrikort.fee-outcomes.v1 are gone); internal "
        "events travel in an envelope (event_id, event_type, schema_version, occurred_at, producer, "
        "correlation_id, causation_id, payload). Generated from the pydantic models in contracts/."
    ),
}
SERVERS: JsonObject = {
    "local": {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "Single-node KRaft broker for local runs and tests.",
    },
    "production": {
        "host": "{bootstrap}",
        "protocol": "kafka",
        "description": "The production cluster (replication factor 3, min.insync.replicas=2).",
        "variables": {
            "bootstrap": {
                "default": "kafka.invalid:9092",
                "description": "Bootstrap server of the production cluster, set per deployment.",
            }
        },
    },
}


def _add_topic(
    topic: Topic, payload_names: Mapping[str, str], channels: JsonObject, operations: JsonObject, messages: JsonObject
) -> None:
    """The topic's channel, its messages and the operations on it, into the document's sections."""
    cid = channel_id(topic)
    channels[cid] = {
        "address": topic.name,
        "title": topic.name,
        "description": topic.description,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in topic.messages},
        "bindings": {"kafka": _kafka_channel_binding(topic)},
    }
    for name in topic.messages:
        messages[name] = _message_component(name, payload_names[name])
        message_ref = f"#/channels/{cid}/messages/{name}"
        operations[f"publish{name}"] = _operation("send", cid, message_ref, f"Publish {name} to {topic.name}.")
        operations[f"consume{name}"] = _operation("receive", cid, message_ref, f"Consume {name} from {topic.name}.")


SYSTEM_ID_PARAMETER: JsonObject = {
    "description": "The integrated system's HSA-ID: its Kafka principal is User:<system-id>, and only it may "
    "write its submissions and read its outcomes. Access creates the pair when it approves the system.",
    "examples": ["SE2321000016-SYS1"],
}


def system_channel_id(topic: SystemTopic) -> str:
    """`efrikort.systems.<system-id>.fee-submissions.v1` -> `systemFeeSubmissionsV1`."""
    words = re.split(r"[.\-]", f"{topic.stream}.v{topic.major}")
    return "system" + "".join(_capitalised(word) for word in words)


def _add_system_topic(
    topic: SystemTopic,
    payload_names: Mapping[str, str],
    channels: JsonObject,
    operations: JsonObject,
    messages: JsonObject,
) -> None:
    """One channel per kind of system topic, its address naming the system as a parameter."""
    cid = system_channel_id(topic)
    channels[cid] = {
        "address": topic.name.replace("<system-id>", "{systemId}"),
        "title": topic.name,
        "description": topic.description,
        "parameters": {"systemId": SYSTEM_ID_PARAMETER},
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in topic.messages},
        "bindings": {"kafka": _kafka_channel_binding(topic)},
    }
    for name in topic.messages:
        messages[name] = _message_component(name, payload_names[name])
        message_ref = f"#/channels/{cid}/messages/{name}"
        verb = "send" if topic.stream == "fee-submissions" else "receive"
        summary = f"The integrated system {'publishes' if verb == 'send' else 'consumes'} {name} on {topic.name}."
        operations[f"{verb}{name}"] = _operation(verb, cid, message_ref, summary)


def _add_dead_letter_topic(topic: Topic, channels: JsonObject, operations: JsonObject) -> None:
    dead_letter = topic.dead_letter
    dlq_id = channel_id(dead_letter)
    channels[dlq_id] = {
        "address": dead_letter.name,
        "title": dead_letter.name,
        "description": f"{dead_letter.description} Messages keep their key: {topic.key}.",
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        "bindings": {"kafka": _kafka_channel_binding(dead_letter)},
    }
    dlq_ref = f"#/channels/{dlq_id}/messages/DeadLetter"
    operations[f"publish{_capitalised(dlq_id)}"] = _operation(
        "send", dlq_id, dlq_ref, f"Dead-letter a message from {topic.name} that could not be processed."
    )
    operations[f"consume{_capitalised(dlq_id)}"] = _operation(
        "receive", dlq_id, dlq_ref, f"Inspect or replay dead letters of {topic.name}."
    )


# --- files ---------------------------------------------------------------------------------------


def dumps(document: Any) -> str:
    """The one JSON layout of every committed file, so that a diff shows only real changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> dict[Path, str]:
    """Every generated file and its content."""
    message_schemas = schemas()
    files = {SCHEMAS_DIR / f"{name}.json": dumps(schema) for name, schema in message_schemas.items()}
    files[ASYNCAPI_PATH] = dumps(asyncapi(message_schemas))
    return files


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT.parent) else str(path)


def _stray_schemas(expected: Iterable[Path]) -> list[Path]:
    # A schema whose message left the catalogue would otherwise linger and mislead readers.
    expected_set = set(expected)
    return sorted(path for path in SCHEMAS_DIR.glob("*.json") if path not in expected_set)


def differences() -> list[str]:
    """What is stale, missing or left over among the committed files; empty when all are current."""
    problems: list[str] = []
    files = render()
    for path, content in sorted(files.items()):
        if not path.exists():
            problems.append(f"missing: {_display(path)}")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"stale: {_display(path)}")
    problems.extend(f"not generated (remove it): {_display(path)}" for path in _stray_schemas(files))
    return problems


def write() -> list[Path]:
    """Write every generated file whose content changed; return the paths written or removed."""
    changed: list[Path] = []
    files = render()
    for path, content in sorted(files.items()):
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            changed.append(path)
    for path in _stray_schemas(files):
        path.unlink()
        changed.append(path)
    return changed


def published_path(name: str) -> Path:
    return PUBLISHED_DIR / f"v{message_major(name)}" / f"{name}.json"


def publish() -> tuple[list[Path], list[str]]:
    """Freeze the current schemas as released: (paths written, breaking changes that stopped it).

    A compatible change is published too, so that later changes are judged against what consumers
    may now rely on. A breaking one is refused: it needs a new major version (a `.v<N+1>` topic).
    """
    current = schemas()
    breaking: list[str] = []
    for name, schema in current.items():
        path = published_path(name)
        if path.exists():
            published = json.loads(path.read_text(encoding="utf-8"))
            breaking.extend(f"{name}: {problem}" for problem in check_compatible(published, schema))
    if breaking:
        return [], breaking
    written: list[Path] = []
    for name, schema in current.items():
        path = published_path(name)
        content = dumps(schema)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only compare; exit 1 if anything is stale")
    mode.add_argument("--publish", action="store_true", help="write, then freeze schemas into published/")
    args = parser.parse_args(argv)

    try:
        if args.check:
            problems = differences()
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("run: uv run python -m contracts.generate", file=sys.stderr)
                return 1
            print("generated contract documents are up to date")
            return 0

        for path in write():
            print(f"wrote {_display(path)}")
        if args.publish:
            written, breaking = publish()
            if breaking:
                print("not published: these changes would break existing consumers;", file=sys.stderr)
                print("publish them under a new major version (a new .v<N+1> topic) instead:", file=sys.stderr)
                for problem in breaking:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            for path in written:
                print(f"published {_display(path)}")
        return 0
    except ContractError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
