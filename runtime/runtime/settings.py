"""Service settings, read from the environment (twelve-factor)."""

from __future__ import annotations

import logging
from typing import Literal, Self
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

DEV_PATIENT_KEY_SECRET = "local-development-only-patient-key-secret"
DEV_DATABASE_PASSWORD = "efrikort-local"
DEVELOPMENT_MODE_ENV = "EFRIKORT_DEVELOPMENT_MODE"
DEVELOPMENT_ENV = {DEVELOPMENT_MODE_ENV: "true"}
"""What `efrikort up`, `efrikort service` against the local stack, and the tests set."""


class DevelopmentDefaultsRefused(ValueError):
    """A service outside development mode was given a value published in this repository: it does not start."""


def _common(field: str) -> AliasChoices:
    """The environment variable of a field every service has: `EFRIKORT_<FIELD>`, whatever the service's prefix."""
    return AliasChoices(f"EFRIKORT_{field.upper()}")


class ServiceSettings(BaseSettings):
    """What every service is configured with. Each field is an environment variable.

    `DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` keep their conventional names; the rest are
    `EFRIKORT_<FIELD>`. A service's own fields live in its `settings.py`, in a subclass whose
    `env_prefix` is `EFRIKORT_<SERVICE>_`, so every variable says whose it is.
    """

    model_config = SettingsConfigDict(env_prefix="EFRIKORT_", extra="ignore", populate_by_name=True)

    service_name: str = Field(default="efrikort", validation_alias=_common("service_name"))
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "EFRIKORT_KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_security_protocol: Literal["SASL_SSL", "PLAINTEXT"] = Field(
        default="SASL_SSL",
        validation_alias=_common("kafka_security_protocol"),
        description="SASL_SSL: TLS and SCRAM-SHA-512, as every e-frikort broker is run. PLAINTEXT only for a "
        "broker of one's own that has no listener for anything else.",
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=_common("kafka_sasl_username"), description="The service's Kafka principal."
    )
    kafka_sasl_password: SecretStr | None = Field(default=None, validation_alias=_common("kafka_sasl_password"))
    kafka_ssl_ca_file: str | None = Field(
        default=None,
        validation_alias=_common("kafka_ssl_ca_file"),
        description="PEM file of the CA the broker's certificate is checked against; the system's CAs when unset.",
    )
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:55432/efrikort",
        validation_alias=AliasChoices("DATABASE_URL", "EFRIKORT_DATABASE_URL"),
        description="A server URL with the right to create roles and schemas (used to provision), "
        "unless service_database_url is given.",
    )
    service_database_url: str | None = Field(
        validation_alias=_common("service_database_url"),
        default=None,
        description="The service's own connection (its role, its schema). When set, nothing is provisioned: "
        "operations created the role and schema beforehand.",
    )
    database_password: SecretStr = Field(
        default=SecretStr(DEV_DATABASE_PASSWORD), validation_alias=_common("database_password")
    )
    database_pool_size: int = Field(default=10, validation_alias=_common("database_pool_size"))
    topic_replication_factor: int = Field(
        validation_alias=_common("topic_replication_factor"), default=1, ge=1, description="3 in production."
    )

    development_mode: bool = Field(
        default=False,
        validation_alias=_common("development_mode"),
        description="A developer's machine or a test run: the repository's published secrets and passwords are "
        "accepted, and provisioning sets the service roles' passwords. Off, a service refuses to start with them.",
    )

    http_host: str = Field(default="127.0.0.1", validation_alias=_common("http_host"))
    http_port: int = Field(default=8080, validation_alias=_common("http_port"))
    trust_identity_header: bool = Field(
        validation_alias=_common("trust_identity_header"),
        default=False,
        description="Development only: take the caller's HSA-ID from the X-HSA-ID header instead of a "
        "verified client certificate.",
    )
    trusted_frontends: str = Field(
        validation_alias=_common("trusted_frontends"),
        default="",
        description="Comma-separated HSA-IDs of the front ends (the desk) whose verified client certificate may "
        "speak for a signed-in person named in `X-On-Behalf-Of`. Empty: no one may.",
    )

    tls_certificate: str | None = Field(
        validation_alias=_common("tls_certificate"),
        default=None,
        description="PEM file of the server's certificate (chain). Set: HTTP is served over TLS.",
    )
    tls_private_key: str | None = Field(
        validation_alias=_common("tls_private_key"),
        default=None,
        description="PEM file of the server certificate's key.",
    )
    tls_client_ca: str | None = Field(
        validation_alias=_common("tls_client_ca"),
        default=None,
        description="PEM bundle of the CAs whose client certificates are trusted (SITHS).",
    )
    tls_client_crl: str | None = Field(
        validation_alias=_common("tls_client_crl"),
        default=None,
        description="PEM file of the certificate revocation lists of the trusted client CAs, one for each: set, "
        "a client certificate is checked against them and a revoked one is refused in the handshake. Read at start.",
    )
    tls_require_client_certificate: bool = Field(
        validation_alias=_common("tls_require_client_certificate"),
        default=True,
        description="Refuse a TLS connection without a client certificate from a trusted CA.",
    )

    region: str = Field(
        default="Region Exempel",
        validation_alias=_common("region"),
        description="The region this deployment serves, as the directory names it: only people acting for one "
        "of its units may read or change a patient's data.",
    )

    patient_key_secret: SecretStr = Field(
        default=SecretStr(DEV_PATIENT_KEY_SECRET), validation_alias=_common("patient_key_secret")
    )

    consumer_max_attempts: int = Field(
        validation_alias=_common("consumer_max_attempts"),
        default=3,
        ge=1,
        description="Tries before a message goes to the DLQ.",
    )
    consumer_retry_backoff_s: float = Field(
        validation_alias=_common("consumer_retry_backoff_s"),
        default=0.2,
        ge=0,
        description="Wait before a failed message's second try, doubled per try (the message's own retries).",
    )
    consumer_outage_backoff_initial_s: float = Field(
        validation_alias=_common("consumer_outage_backoff_initial_s"),
        default=1.0,
        gt=0,
        description="First pause of a consumer's partitions after an outage (PostgreSQL or Kafka out of reach), "
        "doubled per failed try, with jitter.",
    )
    consumer_outage_backoff_max_s: float = Field(
        validation_alias=_common("consumer_outage_backoff_max_s"),
        default=60.0,
        gt=0,
        description="The longest pause between tries during an outage.",
    )
    consumer_dead_letter_value_bytes: int = Field(
        validation_alias=_common("consumer_dead_letter_value_bytes"),
        default=64 * 1024,
        ge=0,
        description="How much of a message's value a truncated dead letter keeps (one too large to be written whole).",
    )
    consumer_batch_size: int = Field(
        validation_alias=_common("consumer_batch_size"),
        default=500,
        ge=1,
        description="Messages handled in one transaction.",
    )
    consumer_commit_interval_s: float = Field(
        validation_alias=_common("consumer_commit_interval_s"),
        default=0.25,
        gt=0,
        description="How often a consumer commits the offsets it has handled (also when its partitions are taken "
        "and when it stops). A crash redelivers what was handled since, which the inbox skips.",
    )
    consumer_gather_ms: int = Field(
        validation_alias=_common("consumer_gather_ms"),
        default=250,
        ge=0,
        description="How long the broker may hold a poll of a consumer no caller waits on (the audit log, "
        "notices) to gather records, so that its transaction and fetch are paid once for many. 0: at once.",
    )
    inbox_forget_interval_s: float = Field(
        validation_alias=_common("inbox_forget_interval_s"),
        default=3600,
        gt=0,
        description="How often each consumer group forgets the message ids its topics no longer hold "
        "(`runtime.inbox.kept_for`: the topic's retention and 8 days; never for a group that reads a compacted topic).",
    )
    outbox_batch_size: int = Field(validation_alias=_common("outbox_batch_size"), default=500, ge=1)
    outbox_poll_interval_s: float = Field(validation_alias=_common("outbox_poll_interval_s"), default=0.25, gt=0)

    log_level: str = Field(default="INFO", validation_alias=_common("log_level"))
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EFRIKORT_OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="Base URL of an OTLP/HTTP (protobuf) receiver, e.g. http://collector:4318: set, the service "
        "exports a span per HTTP request and per message handled to <URL>/v1/traces. Unset: no tracing.",
    )
    log_json: bool = Field(default=True, validation_alias=_common("log_json"))

    fault_kill_after_effect: bool = Field(
        validation_alias=_common("fault_kill_after_effect"),
        default=False,
        description="Fault injection for crash tests: SIGKILL the process once a message's effect is "
        "committed but before its offset is. Never set in production.",
    )

    fault_kill_topic: str | None = Field(
        validation_alias=_common("fault_kill_topic"),
        default=None,
        description="With fault_kill_after_effect: only an effect of a message from this topic kills the process.",
    )

    @classmethod
    def for_service(cls, name: str, http_port: int) -> Self:
        """Settings of one service: its name fixed, its HTTP port a default the environment may override."""
        settings = cls(service_name=name)
        if "http_port" not in settings.model_fields_set:
            settings = settings.model_copy(update={"http_port": http_port})
        return settings

    @property
    def database_schema(self) -> str:
        """The PostgreSQL schema this service owns."""
        return self.service_name

    @property
    def database_role(self) -> str:
        return f"efrikort_{self.service_name}"

    def own_database_url(self) -> str:
        """The URL the service works with: its own role, search path set to its own schema."""
        if self.service_database_url:
            return self.service_database_url
        parts = urlsplit(self.database_url)
        password = quote(self.database_password.get_secret_value(), safe="")
        # A URL without a host reaches PostgreSQL by its Unix socket (`?host=/run/postgresql` names the
        # directory) and keeps it: the host the server URL names, if any, and its query go on unchanged.
        netloc = f"{self.database_role}:{password}@{parts.netloc.rpartition('@')[2]}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    @property
    def trusted_frontend_ids(self) -> frozenset[str]:
        """The HSA-IDs of `trusted_frontends`."""
        return frozenset(part.strip() for part in self.trusted_frontends.split(",") if part.strip())

    @property
    def serves_tls(self) -> bool:
        return self.tls_certificate is not None

    def check_identity_settings(self) -> None:
        """TLS needs its key, and trusting client certificates needs the CAs to trust."""
        if self.tls_certificate and not self.tls_private_key:
            raise ValueError("EFRIKORT_TLS_PRIVATE_KEY must be set with EFRIKORT_TLS_CERTIFICATE")
        if self.tls_certificate and not self.tls_client_ca:
            raise ValueError("EFRIKORT_TLS_CLIENT_CA must name the CAs whose client certificates are trusted")
        if self.tls_client_crl and not self.tls_certificate:
            raise ValueError("EFRIKORT_TLS_CLIENT_CRL is used only with TLS (EFRIKORT_TLS_CERTIFICATE)")

    def development_defaults(self) -> list[str]:
        """The variables still holding a value published in this repository. A subclass adds its own."""
        found = []
        if self.patient_key_secret.get_secret_value() == DEV_PATIENT_KEY_SECRET:
            # With the published secret, anyone can compute every patient's key from identity numbers.
            found.append("EFRIKORT_PATIENT_KEY_SECRET")
        if not self.service_database_url and self.database_password.get_secret_value() == DEV_DATABASE_PASSWORD:
            # Provisioning would give the service's role a password anyone can read here.
            found.append("EFRIKORT_DATABASE_PASSWORD")
        return found

    def refuse_development_defaults(self) -> None:
        """Outside development mode a published secret is a defect, not a convenience: refuse to start."""
        if self.development_mode:
            return
        if found := self.development_defaults():
            raise DevelopmentDefaultsRefused(
                f"{', '.join(found)}: still the development default, published in the e-frikort repository. "
                f"Set a value of your own, or {DEVELOPMENT_MODE_ENV}=true on a developer's machine."
            )

    def warn_about_development_defaults(self) -> None:
        for variable in self.development_defaults():
            log.warning("%s is the local development default: never run production so", variable)
        if self.trust_identity_header:
            log.warning("EFRIKORT_TRUST_IDENTITY_HEADER is on: anyone can claim any HSA-ID. Development only")
        elif not self.serves_tls:
            log.warning("no TLS and no development identity mode: every request that needs a caller gets 401")
        if self.fault_kill_after_effect:
            log.warning("fault injection is on: the process kills itself after its first committed effect")


def async_driver_url(url: str) -> str:
    """SQLAlchemy wants the driver named in the scheme; operators write plain postgresql:// URLs."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {url.split(':', 1)[0]!r}")
