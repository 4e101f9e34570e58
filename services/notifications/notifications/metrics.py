"""Notification metrics. Labels name channels and kinds, never a patient."""

from __future__ import annotations

from prometheus_client import Counter

NOTICES_RECORDED = Counter(
    "efrikort_notices_recorded_total", "Notices recorded, by kind and channel", ["kind", "channel"]
)
NOTICES_SENT = Counter("efrikort_notices_sent_total", "Notices delivered to their channel", ["kind", "channel"])
NOTICE_ATTEMPTS_FAILED = Counter(
    "efrikort_notice_attempts_failed_total", "Tries to deliver a notice that failed (retried or not)", ["channel"]
)
NOTICES_FAILED = Counter(
    "efrikort_notices_failed_total",
    "Notices marked failed after their attempts: an operator must act",
    ["kind", "channel"],
)
