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
    region: str = Field(
        default="Region Exempel",
        min_length=1,
        description="The region this deployment serves (the sample directory's by default): an integrated system "
        "approved for it, certified and not suspended, gets its own Kafka topics (EFRIKORT_ACCESS_REGION).",
    )
    system_topics_interval_s: float = Field(
        default=2.0,
        gt=0,
        description="How soon a system's approval or suspension reaches the broker: its topics opened or closed "
        "(EFRIKORT_ACCESS_SYSTEM_TOPICS_INTERVAL_S).",
    )
