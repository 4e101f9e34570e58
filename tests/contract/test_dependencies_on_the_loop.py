"""The API services' routes ask only for dependencies that run on the event loop.

FastAPI runs a plain `def` dependency in a worker thread: a thread hop per dependency per request,
which a `POST /v1/fees` paid four times before its own work began. The runtime's dependencies (the
unit of work, the settings, what a service provides) are `async def`, and so is every other one the
API services' routes take. (The desk, a web application rendered on the server, is not held to it.)
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from efrikort.topology import declared_service
from runtime.service import Runtime, create_app
from runtime.settings import ServiceSettings

API_SERVICES = ("registration", "protection", "access", "notifications")


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The routes, with those of the routers included (FastAPI keeps an included router whole)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def dependencies_of(dependant: Dependant) -> list[Any]:
    found = []
    for dependency in dependant.dependencies:
        found.append(dependency.call)
        found.extend(dependencies_of(dependency))
    return found


@pytest.mark.parametrize("name", API_SERVICES)
def test_every_dependency_of_the_service_s_routes_runs_on_the_event_loop(name: str) -> None:
    runtime: Runtime[Any] = Runtime(ServiceSettings(service_name=name, kafka_security_protocol="PLAINTEXT"))
    app = create_app(declared_service(name), runtime)
    routes = api_routes(app.routes)
    assert routes, f"{name} has no routes"

    in_a_thread = {
        f"{route.path}: {getattr(call, '__name__', call)}"
        for route in routes
        for call in dependencies_of(route.dependant)
        if call is not None and not inspect.iscoroutinefunction(call)
    }
    assert in_a_thread == set()
