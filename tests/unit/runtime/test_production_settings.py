"""Production refuses development defaults: the secrets and passwords published in this repository are
accepted only in an explicit development mode (`EFRIKORT_DEVELOPMENT_MODE=true`, which `efrikort up`,
`efrikort service` against the local stack and the tests set). Anywhere else a service does not start."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from notifications.settings import NotificationsSettings
from runtime.service import Runtime, Service, create_app
from runtime.settings import DEVELOPMENT_MODE_ENV, DevelopmentDefaultsRefused, ServiceSettings

OWN_SECRETS = {"patient_key_secret": "a-regions-own-secret", "database_password": "a-regions-own-password"}


def production(**fields: object) -> ServiceSettings:
    return ServiceSettings.model_validate({"service_name": "svc", "development_mode": False, **OWN_SECRETS, **fields})


def test_outside_development_mode_the_published_patient_key_secret_is_refused() -> None:
    # With it, anyone who reads the repository computes every patient's key from identity numbers.
    settings = ServiceSettings(service_name="svc", development_mode=False, database_password="own")
    with pytest.raises(DevelopmentDefaultsRefused, match="EFRIKORT_PATIENT_KEY_SECRET"):
        settings.refuse_development_defaults()


def test_outside_development_mode_the_published_database_password_is_refused_for_the_roles_it_provisions() -> None:
    with pytest.raises(DevelopmentDefaultsRefused, match="EFRIKORT_DATABASE_PASSWORD"):
        production(database_password="efrikort-local").refuse_development_defaults()
    # With its own connection (a role operations made) the service provisions nothing: no password to set.
    production(
        database_password="efrikort-local", service_database_url="postgresql://r@db/e"
    ).refuse_development_defaults()


def test_outside_development_mode_the_published_webhook_secret_is_refused() -> None:
    # With it, anyone could sign a notice a mailbox would take for the region's.
    settings = NotificationsSettings.model_validate({"service_name": "n", "development_mode": False, **OWN_SECRETS})
    with pytest.raises(DevelopmentDefaultsRefused, match="EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET"):
        settings.refuse_development_defaults()
    settings.model_copy(
        update={"webhook_secret": SecretStr("the-mailboxs-shared-secret")}
    ).refuse_development_defaults()


def test_a_service_with_secrets_of_its_own_starts_outside_development_mode() -> None:
    production().refuse_development_defaults()


def test_development_mode_accepts_the_defaults_and_warns_about_each(caplog: pytest.LogCaptureFixture) -> None:
    settings = NotificationsSettings(service_name="n", development_mode=True)
    settings.refuse_development_defaults()
    with caplog.at_level(logging.WARNING):
        settings.warn_about_development_defaults()
    warned = " ".join(record.getMessage() for record in caplog.records)
    for variable in ("EFRIKORT_PATIENT_KEY_SECRET", "EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET"):
        assert variable in warned


def test_unencrypted_smtp_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    settings = NotificationsSettings.model_validate(
        {
            "service_name": "n",
            "development_mode": False,
            "webhook_secret": "own",
            "smtp_security": "none",
            **OWN_SECRETS,
        }
    )
    with caplog.at_level(logging.WARNING):
        settings.warn_about_development_defaults()
    assert any("EFRIKORT_NOTIFICATIONS_SMTP_SECURITY" in record.getMessage() for record in caplog.records)


async def test_a_service_refuses_at_start_before_it_touches_a_database_or_a_broker(tmp_path: Path) -> None:
    settings = ServiceSettings(
        service_name="svc",
        development_mode=False,
        database_url="postgresql://nobody@127.0.0.1:1/none",
        kafka_bootstrap_servers="127.0.0.1:1",
        kafka_security_protocol="PLAINTEXT",
    )
    runtime = Runtime(settings)
    app = create_app(Service(name="svc", migrations=tmp_path), runtime)
    with pytest.raises(DevelopmentDefaultsRefused, match="EFRIKORT_PATIENT_KEY_SECRET"):
        async with app.router.lifespan_context(app):
            pytest.fail("the service started")


def test_a_service_process_without_development_mode_exits_naming_the_variable() -> None:
    env = {name: value for name, value in os.environ.items() if name != DEVELOPMENT_MODE_ENV}
    env |= {
        "EFRIKORT_PATIENT_KEY_SECRET": "own",
        "EFRIKORT_DATABASE_PASSWORD": "own",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "notifications"], env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert b"EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET" in done.stderr
