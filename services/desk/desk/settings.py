"""The desk's own settings: the environment variables `EFRIKORT_DESK_<FIELD>`, besides those every service has."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings

DEV_SESSION_SECRET = "local-development-only-desk-session-secret"
log = logging.getLogger(__name__)

SAMPLE_DIRECTORY = Path(__file__).resolve().parents[3] / "deploy" / "local" / "directory" / "sample-directory.json"


class DeskSettings(ServiceSettings):
    """What the desk is configured with: where the services answer, how it proves who it calls as, its session."""

    model_config = SettingsConfigDict(env_prefix="EFRIKORT_DESK_")

    registration_url: str = Field(default="http://127.0.0.1:8081", description="Registration's base URL.")
    protection_url: str = Field(default="http://127.0.0.1:8082", description="Protection's base URL.")
    access_url: str = Field(default="http://127.0.0.1:8083", description="Access's base URL.")
    notifications_url: str = Field(default="http://127.0.0.1:8084", description="Notifications' base URL.")
    service_timeout_s: float = Field(default=15.0, gt=0, description="How long a call to a service may take.")
    registration_wait_s: float = Field(
        default=10.0, gt=0, description="How long the desk polls a registered fee's outcome after a 202."
    )
    session_secret: SecretStr = Field(
        default=SecretStr(DEV_SESSION_SECRET), description="Signs the session cookie (who is signed in, the unit)."
    )
    session_max_age_s: int = Field(default=8 * 3600, gt=0, description="A session ends this long after sign-in.")
    client_certificate: str | None = Field(
        default=None,
        description="PEM file of the desk's own client certificate, shown to the services in production; the "
        "person is then named in X-On-Behalf-Of.",
    )
    client_private_key: str | None = Field(default=None, description="PEM file of that certificate's key.")
    services_ca: str | None = Field(
        default=None, description="PEM bundle of the CA the services' certificates are from."
    )
    sign_in_directory: Path = Field(
        default=SAMPLE_DIRECTORY,
        description="Development sign-in only: the directory export whose employees are offered to sign in as.",
    )

    @property
    def development_sign_in(self) -> bool:
        """The pick-an-HSA-ID sign-in: only in development mode, never with a client certificate of our own."""
        return self.development_mode and self.client_certificate is None

    def development_defaults(self) -> list[str]:
        """The desk holds no patient key and no database: its one published secret is the session's."""
        if self.session_secret.get_secret_value() == DEV_SESSION_SECRET:
            # With the published secret anyone could sign a session cookie naming any person.
            return ["EFRIKORT_DESK_SESSION_SECRET"]
        return []

    def warn_about_development_defaults(self) -> None:
        """The desk trusts no identity header (it is no API): only its published secret and its sign-in to warn of."""
        for variable in self.development_defaults():
            log.warning("%s is the local development default: never run production so", variable)
        if self.development_sign_in:
            log.warning("the development sign-in is on: anyone may sign in as anyone. Development only")

    def check_identity_settings(self) -> None:
        super().check_identity_settings()
        if not self.development_mode and self.client_certificate is None:
            raise ValueError(
                "EFRIKORT_DESK_CLIENT_CERTIFICATE must be set outside development mode: the desk calls the "
                "services with its own certificate, on behalf of the signed-in person"
            )
        if self.client_certificate and not self.client_private_key:
            raise ValueError("EFRIKORT_DESK_CLIENT_PRIVATE_KEY must be set with EFRIKORT_DESK_CLIENT_CERTIFICATE")
