"""How every Kafka client of a service connects: TLS with the broker checked against a CA, and the
service's own SCRAM-SHA-512 principal. Written once; the broker, the outbox relay and the topic admin
all take their options from here."""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLScram512

from runtime.settings import ServiceSettings


def security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream's form of the connection's security; None only for a PLAINTEXT broker (development)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise ValueError("EFRIKORT_KAFKA_SASL_USERNAME and EFRIKORT_KAFKA_SASL_PASSWORD are needed with SASL_SSL")
    return SASLScram512(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        ssl_context=tls_context(settings.kafka_ssl_ca_file),
        use_ssl=True,
    )


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """The same, as keyword arguments of aiokafka's producer, consumer and admin client."""
    return parse_security(security(settings))


@cache
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Checks the broker's certificate and host name against `ca_file` (the system's CAs when None)."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
