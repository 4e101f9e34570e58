"""An identity number never appears in a URL (DESIGN.md, the integration contract): proxies, access logs
and browser histories keep URLs. Every service's published OpenAPI is walked, so a new route that puts
the patient in its path or query string fails here before anyone calls it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from efrikort.services import SERVICE_PORTS
from efrikort.topology import declared_service
from runtime.service import Runtime, create_app
from runtime.settings import ServiceSettings

COULD_HOLD_AN_IDENTITY_NUMBER = re.compile(r"patient|identity|personnummer|samordningsnummer|pnr", re.IGNORECASE)
IN_THE_URL = ("path", "query")


def openapi_of(name: str) -> dict[str, Any]:
    """The OpenAPI document the service publishes, from its own declarations (nothing is started)."""
    runtime: Runtime[Any] = Runtime(ServiceSettings(service_name=name, kafka_security_protocol="PLAINTEXT"))
    app = create_app(declared_service(name), runtime)
    return app.openapi()


def url_parameters(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, where, name) of every parameter that travels in a URL, and of every template in a path."""
    found: list[tuple[str, str, str]] = []
    for path, operations in document.get("paths", {}).items():
        found.extend((path, "path", name) for name in re.findall(r"{([^}]+)}", path))
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in IN_THE_URL:
                    found.append((path, parameter["in"], parameter["name"]))
    return found


@pytest.mark.parametrize("name", list(SERVICE_PORTS))
def test_no_url_of_the_service_has_a_parameter_that_could_hold_an_identity_number(name: str) -> None:
    document = openapi_of(name)
    assert document["paths"], f"{name} publishes no routes: the test would prove nothing"
    suspicious = [
        (path, where, parameter)
        for path, where, parameter in url_parameters(document)
        if COULD_HOLD_AN_IDENTITY_NUMBER.search(parameter)
    ]
    assert suspicious == [], f"{name} takes a patient in its URL: move it into the request body"


def test_the_lookups_take_the_patient_in_their_body() -> None:
    protection, notifications, access, registration = (
        openapi_of(n) for n in ("protection", "notifications", "access", "registration")
    )
    for document, path, method in [
        (protection, "/v1/patients/protection", "post"),
        (protection, "/v1/patients/extract", "post"),
        (protection, "/v1/quotes", "post"),
        (registration, "/v1/patients/fees", "post"),
        (notifications, "/v1/patients/contact/lookup", "post"),
        (notifications, "/v1/patients/contact", "put"),
        (access, "/v1/patients/exit", "post"),
        (access, "/v1/patients/reentry", "post"),
        (access, "/v1/audit/trail", "post"),
    ]:
        body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        schema = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        assert "patient_id" in schema["required"], (path, method)
