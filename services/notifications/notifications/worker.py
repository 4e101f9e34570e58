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
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from contracts.notice_events import NoticeChannel, NoticeDelivered, NoticeFailed
from contracts.topics import NOTICES
from notifications import store
from notifications.channels import ChannelAdapter, DeliveryFailed, Outgoing
from notifications.delivery_rules import NoticeState, RetrySchedule
from notifications.metrics import NOTICE_ATTEMPTS_FAILED, NOTICES_FAILED, NOTICES_SENT
from notifications.settings import NotificationSettings
from runtime.service import Runtime
from runtime.transaction import UnitOfWork

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(self, settings: NotificationSettings, channels: Mapping[NoticeChannel, ChannelAdapter]) -> None:
        self._settings = settings
        self._channels = channels
        self.schedule = RetrySchedule(
            max_attempts=settings.max_attempts,
            initial_delay=timedelta(seconds=settings.backoff_initial_s),
            max_delay=timedelta(seconds=settings.backoff_max_s),
        )

    async def run(self, runtime: Runtime) -> None:
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
        """One round: claim due notices, try each, record each outcome. Returns how many were tried."""
        async with uow.begin(correlation_id="notice-delivery") as tx:
            claimed = await store.claim_due(tx.conn, self._settings.batch_size, self._settings.lease_s)
        if claimed:
            await asyncio.gather(*(self._deliver(uow, notice) for notice in claimed))
        return len(claimed)

    async def _deliver(self, uow: UnitOfWork, notice: store.ClaimedNotice) -> None:
        outgoing = Outgoing(
            notice_id=notice.id,
            patient_key=notice.patient_key,
            kind=notice.kind,
            language=notice.language,
            subject=notice.subject,
            text=notice.body,
            html=notice.html,
            contact=notice.contact,
        )
        extra = {"notice_id": notice.id, "channel": notice.channel.value, "attempt": notice.attempts}
        failure: DeliveryFailed | None = None
        try:
            await self._channels[notice.channel].send(outgoing)
        except DeliveryFailed as error:
            failure = error
        except Exception as error:
            # A fault of this code or a library: worth retrying, and worth a stack trace.
            log.exception(
                "notice %d: unexpected error from the %s channel", notice.id, notice.channel.value, extra=extra
            )
            failure = DeliveryFailed(f"{notice.channel.value}: {type(error).__name__}")
        now = datetime.now(UTC)
        async with uow.begin(correlation_id=f"notice-{notice.id}", causation_id=notice.cause) as tx:
            if failure is None:
                if await store.mark_sent(tx.conn, notice.id, notice.attempts):
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
                    log.info("notice %d delivered by %s", notice.id, notice.channel.value, extra=extra)
                return
            NOTICE_ATTEMPTS_FAILED.labels(notice.channel.value).inc()
            reason = str(failure)
            state, next_attempt_at = self.schedule.after_failure(notice.attempts, now, permanent=failure.permanent)
            if state == NoticeState.FAILED:
                if await store.mark_failed(tx.conn, notice.id, notice.attempts, reason):
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
                        extra=extra,
                    )
                return
            assert next_attempt_at is not None
            await store.mark_retry(tx.conn, notice.id, notice.attempts, next_attempt_at, reason)
            log.info(
                "notice %d attempt %d failed (%s); next try at %s",
                notice.id,
                notice.attempts,
                reason,
                next_attempt_at.isoformat(),
                extra=extra,
            )
