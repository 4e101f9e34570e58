"""Wiring of the protection service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import AUDIT, FEE_OUTCOMES, FEES, FREE_CARDS, OVERCHARGES, PATIENT_STATUS
from protection.handlers import on_fee_events
from protection.regions import DEFAULT_FILE, RegionSettings
from protection.routes import router
from runtime.access_grants import grants_consumer
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "protection"


class ProtectionSettings(BaseSettings):
    """Protection's own settings (environment, prefix `EFRIKORT_PROTECTION_`)."""

    model_config = SettingsConfigDict(env_prefix="EFRIKORT_PROTECTION_", extra="ignore")

    region_file: Path = Field(default=DEFAULT_FILE, description="The region settings file (TOML).")


def build(runtime: Runtime) -> Service:
    region = RegionSettings.load(ProtectionSettings().region_file)
    return Service(
        name=NAME,
        title="e-frikort protection",
        migrations=Path(__file__).parent / "migrations",
        consumers=[Consumer(FEES, group=NAME, batch_handler=on_fee_events(region)), grants_consumer(NAME)],
        produces=[FEE_OUTCOMES, FREE_CARDS, OVERCHARGES, PATIENT_STATUS, AUDIT],
        router=router(runtime.uow, region, runtime.settings.patient_key_secret.get_secret_value()),
    )


def main() -> None:
    run(build, ServiceSettings.for_service(NAME, http_port=8082))
