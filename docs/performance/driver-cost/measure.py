"""What a statement costs through SQLAlchemy's asyncio layer against the driver (asyncpg) alone, on the
running stack's PostgreSQL, one connection, nothing else running: a round trip each, sequential, medians
of 2 000. Run from the repository's root: `.venv/bin/python docs/performance/driver-cost/measure.py`."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

URL = f"postgresql://postgres@127.0.0.1:{os.environ.get('EFRIKORT_POSTGRES_PORT', '55432')}/efrikort"
TIMES = 2000


async def timed(label: str, step: Callable[[], Awaitable[object]], times: int = TIMES) -> None:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        await step()
        took.append(time.perf_counter() - started)
    took.sort()
    print(f"{label:<58} median {statistics.median(took) * 1e6:5.0f} µs, p90 {took[int(times * 0.9)] * 1e6:5.0f} µs")


async def main() -> None:
    driver = await asyncpg.connect(URL)
    prepared = await driver.prepare("SELECT $1::text")
    await timed("asyncpg, prepared statement", lambda: prepared.fetchval("1"))

    async def driver_transaction() -> None:
        async with driver.transaction():
            await prepared.fetchval("1")

    await timed("asyncpg, BEGIN + statement + COMMIT", driver_transaction, 500)
    await driver.close()

    engine = create_async_engine(URL.replace("postgresql://", "postgresql+asyncpg://"))
    statement = text("SELECT CAST(:x AS text)")
    async with engine.connect() as conn:
        await timed("SQLAlchemy AsyncConnection.execute(text(...))", lambda: conn.execute(statement, {"x": "1"}))
        await conn.commit()

        async def sqlalchemy_transaction() -> None:
            async with conn.begin():
                await conn.execute(statement, {"x": "1"})

        await timed("SQLAlchemy, begin() + execute + commit", sqlalchemy_transaction, 500)
    await engine.dispose()


uvloop.install()
asyncio.run(main())
