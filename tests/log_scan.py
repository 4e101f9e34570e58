"""Nothing a patient's data holds leaks into a service log: a check over the whole test run.

Every HTTP request a test sends (through httpx) is looked at for what identifies a patient or is theirs:
identity numbers (in a body or a URL), e-mail addresses, names and address lines. At the end of the session
every service log written during the run under `var/test/logs/` is searched for each of those values,
as written and as JSON escapes it; a hit fails the run, naming the log and the kind of value (never the
value itself, which would put it in the test output).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from efrikort.infra.paths import var_dir

IDENTITY_NUMBER = re.compile(r"(?<!\d)(?:19|20)\d{6}-?\d{4}(?!\d)")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def identity_numbers_in(text: str) -> list[str]:
    """What looks like an identity number in `text` (twelve digits from 19 or 20 on, with or without the dash
    before the last four), UUIDs left out: a UUID's first two groups or its last are all digits from 19 or 20
    on about once in 7 000 UUIDs, and a run's logs hold thousands (correlation ids, fee ids)."""
    return IDENTITY_NUMBER.findall(UUID.sub(" ", text))


PERSONAL_FIELDS = {
    "patient_id": "identity number",
    "name": "name",
    "email": "e-mail address",
    "postal_address": "address",
}
SHORTEST = 5
"""Shorter values (a house number, say) would match by chance."""


class SentValues:
    """The personal values the tests have sent, by kind."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._lock = threading.Lock()

    def remember(self, request: httpx.Request) -> None:
        # Names and addresses are a patient's only in a request about a patient (a system's or an
        # employee's name elsewhere is not); an identity number is one wherever it is sent.
        about_a_patient = "/patients" in request.url.path
        found = {value: kind for value, kind in self._in_body(request) if about_a_patient or kind == "identity number"}
        found |= {number: "identity number" for number in identity_numbers_in(request.url.path)}
        with self._lock:
            self.values |= {value: kind for value, kind in found.items() if len(value) >= SHORTEST}

    def _in_body(self, request: httpx.Request) -> Iterator[tuple[str, str]]:
        try:
            body = json.loads(request.content) if request.content else None
        except (ValueError, RecursionError, httpx.RequestNotRead):  # a test may send JSON nested past any parser
            return
        yield from _personal(body, None)


def _personal(value: Any, kind: str | None) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _personal(inner, PERSONAL_FIELDS.get(key, kind))
    elif isinstance(value, list):
        for inner in value:
            yield from _personal(inner, kind)
    elif isinstance(value, str) and kind is not None:
        yield value, kind
        if kind == "identity number":
            yield value.replace("-", ""), kind
        # A value with a control character may be logged in pieces: each printable part counts too.
        yield from ((part, kind) for part in re.split(r"[\x00-\x1f\x7f]", value) if part != value)


SENT = SentValues()
STARTED = time.time()


def pytest_configure(config: pytest.Config) -> None:
    """Every request the tests send through httpx is remembered before it goes."""
    for client in (httpx.AsyncClient, httpx.Client):
        original = client.send

        def send(self: Any, request: httpx.Request, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            SENT.remember(request)
            return __original(self, request, *args, **kwargs)

        client.send = send  # type: ignore[method-assign]


def logs_of_this_run() -> list[Path]:
    root = var_dir() / "test" / "logs"
    return [path for path in root.glob("*/*.log") if path.stat().st_mtime >= STARTED] if root.is_dir() else []


def leaks(logs: list[Path], sent: dict[str, str], root: Path | None = None) -> dict[str, set[str]]:
    """Per log file (relative to `root`, by default `var/`), the kinds of sent value it holds."""
    found: dict[str, set[str]] = {}
    forms = {form: kind for value, kind in sent.items() for form in {value, json.dumps(value)[1:-1]}}
    for path in logs:
        text = path.read_text(errors="replace")
        kinds = {kind for form, kind in forms.items() if form in text}
        if kinds:
            found[str(path.relative_to(root or var_dir()))] = kinds
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = leaks(logs_of_this_run(), dict(SENT.values))
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("personal data sent by the tests appears in service logs:", red=True)
        for log, kinds in sorted(found.items()):
            reporter.write_line(f"  {log}: {', '.join(sorted(kinds))}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
