"""Registration's own settings, besides those every service has."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    """Registration's fields are `EFRIKORT_REGISTRATION_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="EFRIKORT_REGISTRATION_")

    reply_timeout_s: float = Field(
        default=2.0,
        ge=0,
        le=30,
        description="How long POST /v1/fees waits for protection's assessment before it answers 202 with a "
        "URL to poll (EFRIKORT_REGISTRATION_REPLY_TIMEOUT_S).",
    )
    first_visit_date: date = Field(
        default=date(2019, 1, 1),
        description="The first visit date the region's rules cover: the first `effective_from` of protection's "
        "region file (EFRIKORT_PROTECTION_REGION_FILE). An earlier visit could never be assessed, so it is "
        "rejected `visit_date_not_covered` before anything is stored (EFRIKORT_REGISTRATION_FIRST_VISIT_DATE).",
    )
