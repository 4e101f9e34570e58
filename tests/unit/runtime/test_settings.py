"""Each service works as its own database role in its own schema; the environment configures it."""

import pytest

from runtime.patient_key import patient_key
from runtime.settings import ServiceSettings, async_driver_url


def test_a_service_connects_as_its_own_role_to_the_server_database_url_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@db.example:5433/efrikort")
    monkeypatch.setenv("EFRIKORT_DATABASE_PASSWORD", "s3cret/x")
    settings = ServiceSettings.for_service("protection", http_port=8082)
    assert settings.database_schema == "protection"
    assert settings.own_database_url() == "postgresql://efrikort_protection:s3cret%2Fx@db.example:5433/efrikort"


def test_a_server_reached_by_its_unix_socket_is_reached_so_by_the_service_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@/efrikort?host=/var/run/postgresql&port=55432")
    monkeypatch.setenv("EFRIKORT_DATABASE_PASSWORD", "pw")
    assert (
        ServiceSettings.for_service("registration", 8081).own_database_url()
        == "postgresql://efrikort_registration:pw@/efrikort?host=/var/run/postgresql&port=55432"
    )


def test_a_server_at_an_ipv6_address_keeps_its_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:admin@[::1]:5432/efrikort")
    monkeypatch.setenv("EFRIKORT_DATABASE_PASSWORD", "pw")
    assert (
        ServiceSettings.for_service("access", 8083).own_database_url()
        == "postgresql://efrikort_access:pw@[::1]:5432/efrikort"
    )


def test_an_explicit_service_database_url_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EFRIKORT_SERVICE_DATABASE_URL", "postgresql://ops-made-role@db/efrikort")
    assert ServiceSettings.for_service("access", 8083).own_database_url() == "postgresql://ops-made-role@db/efrikort"


def test_the_http_port_is_a_default_the_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings.for_service("access", 8083).http_port == 8083
    monkeypatch.setenv("EFRIKORT_HTTP_PORT", "9999")
    assert ServiceSettings.for_service("access", 8083).http_port == 9999


def test_only_postgresql_urls_are_accepted() -> None:
    assert async_driver_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    with pytest.raises(ValueError, match="postgresql"):
        async_driver_url("mysql://u@h/d")


def test_the_patient_key_is_the_same_for_one_number_and_differs_with_the_secret() -> None:
    assert patient_key("198504121230", "a") == patient_key("198504121230", "a")
    assert patient_key("198504121230", "a") != patient_key("198504121230", "b")
    assert "198504121230" not in patient_key("198504121230", "a")
    with pytest.raises(ValueError):
        patient_key("19850412-1230", "a")
