"""The delivery worker: sends recorded notices after their transaction committed, with retries.

It claims due notices (`FOR UPDATE SKIP LOCKED`, so replicas share the work), counts the try and
leases them, then sends outside any transaction, and records the outcome: sent, pending again
after an exponential back-off, or failed after the last attempt (counted in metrics, listed for
operators). A crash between a successful send and recording it leaves the notice leased; it is
sent again when the lease runs out, under the same idempotency key, so the receiver can drop it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import clock
from contracts.notice_events import NoticeChannel, NoticeDelivered, NoticeFailed
from contracts.topics import NOTICES
from notifications import store
from notifications.channels import ChannelAdapter, DeliveryFailed, Outgoing
from notifications.delivery_rules import NoticeState, RetrySchedule
from notifications.metrics import NOTICE_ATTEMPTS_FAILED, NOTICES_FAILED, NOTICES_SENT
from notifications.settings import NotificationsSettings
from runtime.service import Runtime
from runtime.transaction import Transaction, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One try of a claimed notice: None when its channel took it, else why not."""

    notice: store.ClaimedNotice
    failure: DeliveryFailed | None
    at: datetime


class DeliveryWorker:
    def __init__(self, settings: NotificationsSettings, channels: Mapping[NoticeChannel, ChannelAdapter]) -> None:
        self._settings = settings
        self._channels = channels
        self.schedule = RetrySchedule(
            max_attempts=settings.max_attempts,
            initial_delay=timedelta(seconds=settings.backoff_initial_s),
            max_delay=timedelta(seconds=settings.backoff_max_s),
        )

    async def run(self, runtime: Runtime[NotificationsSettings]) -> None:
        """Until cancelled: deliver what is due, and rest a poll interval when nothing was."""
        while True:
            try:
                delivered = await self.deliver_due(runtime.uow)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivering notices failed; trying again shortly")
                delivered = 0
            if delivered == 0:
                await asyncio.sleep(self._settings.poll_interval_s)

    async def deliver_due(self, uow: UnitOfWork) -> int:
        """One round: claim due notices, try each, record every outcome. Returns how many were tried."""
        async with uow.begin() as tx:
            claimed = await store.claim_due(tx.conn, self._settings.batch_size, self._settings.lease_s)
        if claimed:
            attempts = await asyncio.gather(*(self._attempt(notice) for notice in claimed))
            await self._record(uow, attempts)
        return len(claimed)

    async def _attempt(self, notice: store.ClaimedNotice) -> Attempt:
        """One try of one notice, outside any transaction."""
        failure = await self._try_sending(notice)
        return Attempt(notice, failure, clock.now())

    async def _record(self, uow: UnitOfWork, attempts: Sequence[Attempt]) -> None:
        """The outcomes of a round's tries, in one transaction. One transaction each took a connection each
        at once: a round of 20 opened ten past the pool and closed them again, a server process apiece. If
        this commit fails, the round's notices stay leased and are tried again when the lease runs out,
        under the same idempotency keys, as after a crash."""
        async with uow.begin() as tx:
            for attempt in attempts:
                notice = attempt.notice
                notice_tx = tx.caused_by(f"notice-{notice.id}", notice.cause)
                if attempt.failure is None:
                    await self._record_sent(notice_tx, notice, attempt.at)
                else:
                    await self._record_failure(notice_tx, notice, attempt.failure, attempt.at)

    async def _try_sending(self, notice: store.ClaimedNotice) -> DeliveryFailed | None:
        """Hand the notice to its channel: None when it took it, else why not."""
        try:
            await self._channels[notice.channel].send(outgoing(notice))
        except DeliveryFailed as error:
            return error
        except Exception as error:
            # A fault of this code or a library: worth retrying, and worth a stack trace.
            log.exception(
                "notice %d: unexpected error from the %s channel",
                notice.id,
                notice.channel.value,
                extra=log_context(notice),
            )
            return DeliveryFailed(f"{notice.channel.value}: {type(error).__name__}")
        return None

    async def _record_sent(self, tx: Transaction, notice: store.ClaimedNotice, now: datetime) -> None:
        if not await store.mark_sent(tx.conn, notice.id, notice.attempts):
            return
        NOTICES_SENT.labels(notice.kind, notice.channel.value).inc()
        await tx.emit(
            NOTICES,
            notice.patient_key,
            NoticeDelivered(
                notice_id=notice.id,
                patient_key=notice.patient_key,
                kind=notice.kind,
                channel=notice.channel,
                caused_by=notice.cause,
                attempts=notice.attempts,
                delivered_at=now,
            ),
        )
        log.info("notice %d delivered by %s", notice.id, notice.channel.value, extra=log_context(notice))

    async def _record_failure(
        self, tx: Transaction, notice: store.ClaimedNotice, failure: DeliveryFailed, now: datetime
    ) -> None:
        """A failed try: the notice waits for its next try, or, after its last, fails for good."""
        NOTICE_ATTEMPTS_FAILED.labels(notice.channel.value).inc()
        reason = str(failure)
        state, next_attempt_at = self.schedule.after_failure(notice.attempts, now, permanent=failure.permanent)
        if state == NoticeState.FAILED:
            await self._record_failed_for_good(tx, notice, reason, now)
            return
        assert next_attempt_at is not None
        await store.mark_retry(tx.conn, notice.id, notice.attempts, next_attempt_at, reason)
        log.info(
            "notice %d attempt %d failed (%s); next try at %s",
            notice.id,
            notice.attempts,
            reason,
            next_attempt_at.isoformat(),
            extra=log_context(notice),
        )

    async def _record_failed_for_good(
        self, tx: Transaction, notice: store.ClaimedNotice, reason: str, now: datetime
    ) -> None:
        """No more tries: counted, told on the notices topic, and left for an operator to resend."""
        if not await store.mark_failed(tx.conn, notice.id, notice.attempts, reason):
            return
        NOTICES_FAILED.labels(notice.kind, notice.channel.value).inc()
        await tx.emit(
            NOTICES,
            notice.patient_key,
            NoticeFailed(
                notice_id=notice.id,
                patient_key=notice.patient_key,
                kind=notice.kind,
                channel=notice.channel,
                caused_by=notice.cause,
                attempts=notice.attempts,
                error=reason,
                failed_at=now,
            ),
        )
        log.warning(
            "notice %d failed for good after %d attempts: %s",
            notice.id,
            notice.attempts,
            reason,
            extra=log_context(notice),
        )


def outgoing(notice: store.ClaimedNotice) -> Outgoing:
    """What a channel is handed of a claimed notice."""
    return Outgoing(
        notice_id=notice.id,
        patient_key=notice.patient_key,
        kind=notice.kind,
        language=notice.language,
        subject=notice.subject,
        text=notice.body,
        html=notice.html,
        contact=notice.contact,
    )


def log_context(notice: store.ClaimedNotice) -> dict[str, object]:
    """What every log line about a try names: the notice, its channel and the attempt, never the patient."""
    return {"notice_id": notice.id, "channel": notice.channel.value, "attempt": notice.attempts}
