"""Waiting for a submission's outcome: how `POST /v1/fees` answers with the amount due.

Protection assesses the fee and publishes the outcome; registration's outcome consumer stores it and
wakes the request waiting in this process. With several replicas the outcome may land in another
one, so a waiter also looks in the database now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

LOOK_IN_DATABASE_EVERY_S = 0.5
"""Only needed when the outcome lands in another replica; often, it would load the database at high rates."""


class OutcomeWaiters:
    """Requests waiting for outcomes, by fee id (the outcome names its fee; two senders may share a
    submission id), each at most `reply_timeout_s`."""

    def __init__(self, reply_timeout_s: float) -> None:
        self.reply_timeout_s = reply_timeout_s
        self._waiting: dict[str, list[asyncio.Future[bytes]]] = {}

    def deliver(self, fee_id: str, outcome: bytes) -> None:
        for future in self._waiting.pop(fee_id, []):
            if not future.done():
                future.set_result(outcome)

    async def wait(
        self,
        fee_id: str,
        look_up: Callable[[], Awaitable[bytes | None]],
        is_answer: Callable[[bytes], bool],
    ) -> bytes | None:
        """The outcome that answers the submission (`is_answer`), or None after `reply_timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout_s
        while True:
            future: asyncio.Future[bytes] = loop.create_future()
            self._waiting.setdefault(fee_id, []).append(future)
            try:
                # The outcome of a fee registered a moment ago is not stored yet: wait for this process's
                # consumer first, and look in the database (for another replica's) only after a while,
                # which spares each request a second pooled connection at once.
                with contextlib.suppress(TimeoutError):
                    left = max(0.0, min(deadline - loop.time(), LOOK_IN_DATABASE_EVERY_S))
                    outcome = await asyncio.wait_for(asyncio.shield(future), left)
                    if is_answer(outcome):
                        return outcome
                stored = await look_up()
                if stored is not None and is_answer(stored):
                    return stored
                if deadline - loop.time() <= 0:
                    return None
            finally:
                waiting = self._waiting.get(fee_id)
                if waiting is not None and future in waiting:
                    waiting.remove(future)
                    if not waiting:
                        del self._waiting[fee_id]
