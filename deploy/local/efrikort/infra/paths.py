"""Where the local stack keeps its files.

Kept apart from ``stack`` so that ``kafka`` and ``postgres`` can use it without importing the
module that imports them.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

VAR_DIR_ENV = "EFRIKORT_VAR_DIR"


@cache
def repo_root() -> Path:
    """The directory holding the uv workspace ``pyproject.toml``.

    Found by walking up from this file rather than from the working directory, so ``efrikort``
    works from any cwd. The first ``pyproject.toml`` on the way up is ``deploy/local``'s own
    (a workspace member), hence the check for ``[tool.uv.workspace]``.
    """
    here = Path(__file__).resolve()
    for candidate in here.parents:
        pyproject = candidate / "pyproject.toml"
        if not pyproject.is_file():
            continue
        with pyproject.open("rb") as f:
            data = tomllib.load(f)
        if "workspace" in data.get("tool", {}).get("uv", {}):
            return candidate
    raise RuntimeError(f"no uv workspace pyproject.toml above {here}")


def var_dir() -> Path:
    """Root of all generated state (caches, server data); ``$EFRIKORT_VAR_DIR`` overrides it."""
    override = os.environ.get(VAR_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return repo_root() / "var"
