"""Protection's own settings: the environment variables `EFRIKORT_PROTECTION_<FIELD>`, besides those every
service has."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from protection.regions import DEFAULT_FILE
from runtime.settings import ServiceSettings


class ProtectionSettings(ServiceSettings):
    """What the protection service is configured with."""

    model_config = SettingsConfigDict(env_prefix="EFRIKORT_PROTECTION_")

    region_file: Path = Field(default=DEFAULT_FILE, description="The region settings file (TOML).")
