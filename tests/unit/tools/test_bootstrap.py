"""The environment `scripts/bootstrap` sets up: its installed packages carry their compiled bytecode, so a
service process does not compile them again at every start (where PYTHONDONTWRITEBYTECODE is set, nothing
else would write it, and each start compiled every dependency anew)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest


@pytest.mark.parametrize("package", ["aiokafka", "faststream", "sqlalchemy", "pydantic", "fastapi", "asyncpg"])
def test_the_packages_every_service_imports_come_with_their_bytecode(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    source = Path(module.__file__)
    compiled = Path(importlib.util.cache_from_source(str(source)))
    assert compiled.is_file(), f"{package} has no compiled bytecode beside it: was the environment set up by bootstrap?"
