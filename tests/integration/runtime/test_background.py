"""Background tasks of a service (a delivery worker, say): started with the service, restarted when
they die, cancelled at shutdown before the consumers stop."""

from __future__ import annotations

import asyncio
import dataclasses

from runtime.service import Runtime, create_app
from tests.integration.runtime.harness import TinyService
from tests.kafka_clients import eventually


async def test_a_background_task_runs_with_the_service_is_restarted_when_it_dies_and_is_cancelled_at_shutdown(
    service: TinyService,
) -> None:
    happened: list[str] = []

    async def worker(runtime: Runtime) -> None:
        happened.append("started")
        if happened.count("started") == 1:
            raise RuntimeError("the first run dies")
        try:
            await asyncio.Event().wait()  # until cancelled
        except asyncio.CancelledError:
            happened.append("cancelled")
            raise

    runtime = Runtime(service.settings)
    app = create_app(dataclasses.replace(service.definition(), background=[worker]), runtime)
    async with app.router.lifespan_context(app):

        async def restarted() -> bool:
            return happened.count("started") == 2

        assert await eventually(restarted, timeout=10, interval=0.05)
    assert happened == ["started", "started", "cancelled"]
