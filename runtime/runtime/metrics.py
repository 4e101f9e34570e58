"""Prometheus metrics every service exposes. Labels never hold a patient's identity or key."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "efrikort_messages_consumed_total", "Messages handled, by topic and result", ["topic", "result"]
)
MESSAGES_PUBLISHED = Counter(
    "efrikort_messages_published_total",
    # Counted once Kafka has acknowledged what a committed transaction wrote, so the event types are
    # the business counts too (free cards issued, overcharges found) without counting a rolled-back batch.
    "Messages published, by topic and event type (empty for the integration contract's own messages)",
    ["topic", "event_type"],
)
HANDLING_SECONDS = Histogram(
    "efrikort_message_handling_seconds",
    "Time from a message's delivery to its effect being committed",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEAD_LETTERS = Counter("efrikort_dead_letters_total", "Messages sent to a dead-letter topic", ["topic"])
DUPLICATES = Counter("efrikort_duplicate_messages_total", "Redelivered messages recognised by the inbox", ["topic"])
INBOX_FORGOTTEN = Counter(
    "efrikort_inbox_forgotten_total",
    "Message ids a consumer group's inbox forgot: their topic no longer holds the message",
    ["consumer"],
)
CONSUMER_LAG = Gauge("efrikort_consumer_lag", "Messages not yet consumed, by partition", ["topic", "partition"])
OUTBOX_BACKLOG = Gauge("efrikort_outbox_backlog", "Events written to the outbox and not yet published")
OUTBOX_OLDEST_AGE = Gauge("efrikort_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event")
DEAD_LETTERS_TRUNCATED = Counter(
    "efrikort_dead_letters_truncated_total",
    "Dead letters too large to be written whole, written with their value cut (counted in dead_letters_total too)",
    ["topic"],
)
DEAD_LETTERS_UNWRITABLE = Counter(
    "efrikort_dead_letters_unwritable_total",
    "Messages that could not be dead-lettered even truncated: logged by coordinates and skipped",
    ["topic"],
)
OFFSET_COMMIT_FAILURES = Counter(
    "efrikort_consumer_offset_commit_failures_total",
    "Offset commits that failed (tried again with the next; what they left is redelivered and skipped by the inbox)",
    ["topic"],
)
CONSUMER_RETRIES = Counter(
    "efrikort_consumer_retries_total",
    "Tries again: of one failed message (reason=message), or of a batch after an outage pause (reason=outage)",
    ["topic", "reason"],
)
CONSUMER_PAUSED_PARTITIONS = Gauge(
    "efrikort_consumer_paused_partitions", "Partitions a consumer holds paused while it backs off an outage", ["topic"]
)
CONSUMER_BACKOFF_SECONDS = Gauge(
    "efrikort_consumer_backoff_seconds",
    "How long a consumer has been backing off an outage (0 while it consumes)",
    ["topic"],
)

HTTP_REQUESTS = Counter(
    "efrikort_http_requests_total",
    "HTTP requests answered, by method, route template (`unmatched` for no route) and status code",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "efrikort_http_request_seconds",
    "Time from a request's arrival to its answer, by route template",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def start_dead_letter_counts(topic: str) -> None:
    """The topic's dead-letter series, at 0 from the start: an alert's `increase()` then sees the first one."""
    for counter in (DEAD_LETTERS, DEAD_LETTERS_TRUNCATED, DEAD_LETTERS_UNWRITABLE):
        counter.labels(topic)
