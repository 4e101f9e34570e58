"""Access's own settings: every variable is `EFRIKORT_ACCESS_<FIELD>`, beside those every service has."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class AccessSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EFRIKORT_ACCESS_")

    grant_sweep_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often grants that the calendar changes (a commission ending, an agreement terminated "
        "on a date) are computed again and republished.",
    )
