"""Every service's routes, and the desk's pages, ask only for dependencies that run on the event loop.

FastAPI runs a plain `def` dependency in a worker thread: a thread hop per dependency per request,
which a `POST /v1/fees` paid four times before its own work began. The runtime's dependencies (the
unit of work, the settings, what a service provides) are `async def`, and so is every other one the
services' routes and the desk's pages take.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from desk.app import build
from desk.settings import DeskSettings
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


def run_in_a_thread(app: FastAPI) -> set[str]:
    """Each route's dependencies that FastAPI would run in a worker thread, as `path: name`."""
    routes = api_routes(app.routes)
    assert routes, "no routes"
    return {
        f"{route.path}: {getattr(call, '__name__', call)}"
        for route in routes
        for call in dependencies_of(route.dependant)
        if call is not None and not inspect.iscoroutinefunction(call)
    }


@pytest.mark.parametrize("name", API_SERVICES)
def test_every_dependency_of_the_service_s_routes_runs_on_the_event_loop(name: str) -> None:
    runtime: Runtime[Any] = Runtime(ServiceSettings(service_name=name, kafka_security_protocol="PLAINTEXT"))
    assert run_in_a_thread(create_app(declared_service(name), runtime)) == set()


def test_every_dependency_of_the_desk_s_pages_runs_on_the_event_loop() -> None:
    assert run_in_a_thread(build(DeskSettings(service_name="desk", development_mode=True))) == set()
