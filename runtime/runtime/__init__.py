"""What every e-frikort service needs, written once.

Settings, the Kafka broker and its consumers (at-least-once, bounded retries, dead letters),
the transactional outbox and its relay, the inbox that makes consumers idempotent, one
PostgreSQL schema and role per service with its migrations, health, readiness, metrics and
structured logs. A service's own code never talks to Kafka or PostgreSQL except through these.
"""
