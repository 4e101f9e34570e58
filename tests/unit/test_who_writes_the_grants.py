"""No tool and no test helper writes the grants topic: a grant is what access computes from its
mirror, and everyone (the bench, the tests, an operator) gives an actor rights by importing a
directory into access. The broker enforces it for the services' principals
(`tests/integration/kafka/test_kafka_security.py`); this keeps the admin user's tools from it too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SOURCES = ("contracts", "runtime", "deploy", "services", "tests")
WRITES_THE_GRANTS = re.compile(
    r"\b(send_and_wait|send|send_batch|emit|publish|event_message)\(\s*(ACCESS_GRANTS\b|[\"']efrikort\.access-grants)"
)
"""A producer's call, an outbox's emit or an enveloped message, addressed to the grants topic."""
MAY_TRY = {
    Path("services/access"): "access computes and publishes the grants",
    Path("tests/integration/kafka/test_kafka_security.py"): "tries to write as every principal: only access may",
}


def python_files() -> list[Path]:
    return [path.relative_to(ROOT) for source in SOURCES for path in (ROOT / source).rglob("*.py")]


def may_write(path: Path) -> bool:
    return any(path == allowed or allowed in path.parents for allowed in MAY_TRY)


def test_nothing_but_access_writes_the_grants_topic() -> None:
    writers = [
        str(path)
        for path in python_files()
        if not may_write(path) and WRITES_THE_GRANTS.search((ROOT / path).read_text(encoding="utf-8"))
    ]
    assert writers == [], "these write the grants topic: give actors their rights through access instead"


def test_the_check_sees_access_write_the_grants() -> None:
    assert WRITES_THE_GRANTS.search((ROOT / "services/access/access/mirror.py").read_text(encoding="utf-8"))
    assert Path("runtime/runtime/access_grants.py") in python_files()
