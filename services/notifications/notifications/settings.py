"""The notification service's own settings (env prefix `EFRIKORT_NOTIFICATIONS_`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

DEV_WEBHOOK_SECRET = "local-development-only-webhook-secret"


class NotificationsSettings(ServiceSettings):
    """What every service is configured with, and notifications' own: channels, retries and the region's
    details. Each own field is an environment variable `EFRIKORT_NOTIFICATIONS_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="EFRIKORT_NOTIFICATIONS_")

    # E-mail over SMTP.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls", description="none (local tests only), STARTTLS on a plain port, or TLS from the start."
    )
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to verify the mail server with.")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 30.0
    email_sender: str = "e-frikort <no-reply@efrikort.invalid>"

    # Webhook: a digital mailbox or an inbox such as 1177's.
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    webhook_default_url: str | None = Field(
        default=None, description="Where webhook notices go when the patient's details name no endpoint of their own."
    )
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts a patient's own webhook_url may name (https only): the digital mailboxes the region "
        "has agreed with. Empty: no patient-specific webhooks, only the default URL.",
    )
    webhook_ca_file: Path | None = Field(
        default=None, description="CA bundle to verify the mailboxes' certificates with; the system's CAs when unset."
    )
    webhook_timeout_s: float = 10.0

    # Letter: PDFs written into a print-batch folder the print house collects.
    letter_folder: Path = Path("var/letters")

    # Delivery.
    max_attempts: int = Field(default=8, ge=1, description="Tries per notice before it is marked failed.")
    backoff_initial_s: float = Field(
        default=30.0, gt=0, description="Wait after the first failed try; doubled per try."
    )
    backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    lease_s: float = Field(
        default=300.0,
        gt=0,
        description="How long a claimed notice is left to its sender before another may try (after a crash).",
    )
    poll_interval_s: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=20, ge=1, description="Notices claimed and sent at once by one worker.")

    # The region (for whom to contact, and the close-to-ceiling notice).
    region_name: str = "Region Exempel"
    region_phone: str = "0771-00 00 00"
    region_web: str = "https://www.1177.se/"
    close_to_ceiling_kronor: int | None = Field(
        default=None,
        gt=0,
        description="Tell the patient once per period when no more than this is left to the ceiling; off when unset.",
    )

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """An operator writes `a.example,b.example`; host names compare in lower case."""
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(host).strip().lower() for host in value if str(host).strip()]
        return value

    def development_defaults(self) -> list[str]:
        found = super().development_defaults()
        if self.webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
            # Anyone could sign a notice a mailbox would believe came from the region.
            found.append("EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET")
        return found

    def warn_about_development_defaults(self) -> None:
        super().warn_about_development_defaults()
        if self.smtp_security == "none":
            log.warning("EFRIKORT_NOTIFICATIONS_SMTP_SECURITY is none: e-mails leave unencrypted. Local tests only")
