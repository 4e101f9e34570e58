"""Waiting for a submission's outcome: how `POST /v1/fees` answers with the amount due.

Protection assesses the fee and publishes the outcome; registration's outcome consumer stores it and
wakes the request waiting in this process. With several replicas the outcome may land in another
one, so the outcomes waited for longer than a moment are also looked for in the database: all of them
in one look-up now and then (`look_in_database`), not one per request. When answers come late (a
backlog), a look-up per request and half second grew with the requests waiting, and took the
connections and the CPU the answers needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registration.store import SubmissionKey

log = logging.getLogger(__name__)

LOOK_IN_DATABASE_EVERY_S = 0.5
"""How often the outcomes still waited for are looked for in the database, and how long a fee is waited
for before it is: only needed when the outcome lands in another replica."""

StoredOutcomes = Callable[[Sequence["SubmissionKey"]], Awaitable[Mapping["SubmissionKey", bytes]]]
"""The outcomes stored for some submissions, by submission (those with none left out)."""


@dataclass
class _Waiting:
    """The requests waiting for one fee's outcome, and the submission it is stored under."""

    key: SubmissionKey
    since: float
    futures: list[asyncio.Future[bytes]] = field(default_factory=list)


class OutcomeWaiters:
    """Requests waiting for outcomes, by fee id (the outcome names its fee; two senders may share a
    submission id), each at most `reply_timeout_s`."""

    def __init__(self, reply_timeout_s: float) -> None:
        self.reply_timeout_s = reply_timeout_s
        self._waiting: dict[str, _Waiting] = {}

    def deliver(self, fee_id: str, outcome: bytes) -> None:
        waiting = self._waiting.pop(fee_id, None)
        for future in waiting.futures if waiting is not None else ():
            if not future.done():
                future.set_result(outcome)

    async def wait(self, fee_id: str, key: SubmissionKey, is_answer: Callable[[bytes], bool]) -> bytes | None:
        """The outcome that answers the submission (`is_answer`), or None after `reply_timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout_s
        while (left := deadline - loop.time()) > 0:
            future: asyncio.Future[bytes] = loop.create_future()
            waiting = self._waiting.setdefault(fee_id, _Waiting(key, loop.time()))
            waiting.futures.append(future)
            try:
                with contextlib.suppress(TimeoutError):
                    outcome = await asyncio.wait_for(future, left)
                    if is_answer(outcome):
                        return outcome
            finally:
                self._forget(fee_id, future)
        return None

    def _forget(self, fee_id: str, future: asyncio.Future[bytes]) -> None:
        waiting = self._waiting.get(fee_id)
        if waiting is not None and future in waiting.futures:
            waiting.futures.remove(future)
            if not waiting.futures:
                del self._waiting[fee_id]

    async def look_in_database(self, stored: StoredOutcomes) -> None:
        """Runs until cancelled: every `LOOK_IN_DATABASE_EVERY_S`, one look-up of every outcome waited for
        that long, delivered to its waiters as the consumer would."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(LOOK_IN_DATABASE_EVERY_S)
            now = loop.time()
            due = {fee_id: w.key for fee_id, w in self._waiting.items() if now - w.since >= LOOK_IN_DATABASE_EVERY_S}
            if not due:
                continue
            try:
                found = await stored(list(due.values()))
            except Exception as failure:
                # The waiters still hear from the consumer, and the next round looks again.
                log.warning("could not look up stored outcomes (%s)", type(failure).__name__)
                continue
            for fee_id, key in due.items():
                if key in found:
                    self.deliver(fee_id, found[key])
