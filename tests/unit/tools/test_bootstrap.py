"""The environment `scripts/bootstrap` sets up: its installed packages carry their compiled bytecode, so a
service process does not compile them again at every start (where PYTHONDONTWRITEBYTECODE is set, nothing
else would write it, and each start compiled every dependency anew)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_the_environment_was_compiled_for_the_lock_file_it_was_installed_from() -> None:
    # Where the environment lets an import write bytecode, the files below would be there anyway: the stamp
    # says bootstrap compiled them, for this lock file.
    stamp = Path(sys.prefix) / ".bytecode-compiled"
    assert stamp.is_file(), "the environment was not set up by scripts/bootstrap"
    assert stamp.read_text().strip() == hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()


@pytest.mark.parametrize("package", ["aiokafka", "faststream", "sqlalchemy", "pydantic", "fastapi", "asyncpg"])
def test_the_packages_every_service_imports_come_with_their_bytecode(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    compiled = Path(importlib.util.cache_from_source(str(Path(module.__file__))))
    assert compiled.is_file(), f"{package} has no compiled bytecode beside it: was the environment set up by bootstrap?"
