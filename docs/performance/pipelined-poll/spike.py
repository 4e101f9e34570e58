"""A poll of protection's shape, its statements sent one answer at a time or pipelined (psycopg 3).

Not product code: a measurement for issue 17 (README beside it). It runs in a scratch schema of the local
PostgreSQL (created here and dropped at the end) and asks: if a poll's statements went in two round trips
instead of eight, what would a poll take, in wall time and CPU, on an idle machine and on one whose cores are
full?

The poll is protection's, statement for statement in shape (not in its rules):
BEGIN; the exit check (a shared advisory lock, then a read, in one function); the patients' locks and the
fees as they stood (one function); the new fee recorded; the patient's ledger read; (the recomputation, in
Python); the charged amounts written; the outbox and the inbox written in one statement; COMMIT.

- `asyncpg`: as the services run it today, each statement awaited in turn: 8 round trips.
- `psycopg`: the same on psycopg 3, each statement awaited in turn: 8 round trips (the driver alone).
- `pipelined`: psycopg 3's pipeline mode: BEGIN and the four reads and writes before the recomputation in
  one round trip, the two writes and COMMIT in a second.

Usage: python spike.py MODE POLLS [RIVALS]: RIVALS busy processes of normal priority beside it (2 fills the
2-core machine). Prints one line: wall ms per poll (p50, p99), the client's and its backend's CPU per poll.
"""

from __future__ import annotations

import asyncio
import datetime
import multiprocessing
import os
import statistics
import sys
import time
import uuid

import asyncpg
import psycopg

URL = os.environ.get("SPIKE_DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/efrikort")
SCHEMA = "spike_pipelined_poll"
PATIENTS = 10_000
TICKS = os.sysconf("SC_CLK_TCK")

SETUP = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
SET search_path = {SCHEMA};
CREATE TABLE fees (fee_id uuid PRIMARY KEY, patient_key text NOT NULL, visit_date date NOT NULL,
                   amount int NOT NULL, charged int);
CREATE INDEX ON fees (patient_key, visit_date);
CREATE TABLE exits (patient_key text PRIMARY KEY);
CREATE TABLE outbox (id bigserial PRIMARY KEY, topic text, key bytea, value bytea, headers jsonb);
CREATE TABLE inbox (consumer text, message_id text, PRIMARY KEY (consumer, message_id));
INSERT INTO fees SELECT gen_random_uuid(), 'p' || (n % {PATIENTS}), date '2026-01-01' + (n % 300), 100 + n % 300, NULL
  FROM generate_series(1, {PATIENTS * 5}) n;
CREATE FUNCTION exited_among(keys text[]) RETURNS SETOF text LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(4242);
  RETURN QUERY SELECT e.patient_key FROM {SCHEMA}.exits e WHERE e.patient_key = ANY(keys);
END $f$;
CREATE FUNCTION lock_and_read(ids uuid[], keys text[]) RETURNS TABLE (fee_id uuid, amount int)
LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(k)) FROM unnest(keys) AS k ORDER BY k;
  RETURN QUERY SELECT f.fee_id, f.amount FROM {SCHEMA}.fees f WHERE f.fee_id = ANY(ids);
END $f$;
ANALYZE;
"""

# asyncpg's placeholders are $n, psycopg's %s: the same statements in both spellings.
STATEMENTS = {
    "exited": "SELECT * FROM {s}.exited_among($1::text[])",
    "locked": "SELECT * FROM {s}.lock_and_read($1::uuid[], $2::text[])",
    "record": "INSERT INTO {s}.fees (fee_id, patient_key, visit_date, amount) VALUES ($1, $2, $3, $4)",
    "ledger": (
        "SELECT array_agg(ROW(fee_id, visit_date, amount) ORDER BY visit_date) FROM {s}.fees WHERE patient_key = $1"
    ),
    "charge": "UPDATE {s}.fees SET charged = r.c FROM unnest($1::uuid[], $2::int[]) AS r(id, c) WHERE fee_id = r.id",
    "emit": (
        "WITH i AS (INSERT INTO {s}.inbox VALUES ('protection', $1) ON CONFLICT DO NOTHING RETURNING 1) "
        "INSERT INTO {s}.outbox (topic, key, value, headers) "
        "SELECT t, $2::bytea, $3::bytea, '{{}}'::jsonb FROM unnest(ARRAY['outcomes', 'internal']) t"
    ),
}


def spelled(name: str, style: str) -> str:
    text = STATEMENTS[name].format(s=SCHEMA)
    if style == "psycopg":
        for n in range(9, 0, -1):
            text = text.replace(f"${n}", "%s")
    return text


# Spelled once here, so that a poll's own CPU is the driver's and the statements', not this script's.
ASYNCPG = {name: spelled(name, "asyncpg") for name in STATEMENTS}
PSYCOPG = {name: spelled(name, "psycopg") for name in STATEMENTS}


def recompute(amounts: list[int]) -> list[int]:
    """Stands for the rules: a running total up to a ceiling."""
    charged, total = [], 0
    for amount in amounts:
        due = max(0, min(amount, 1450 - total))
        total += due
        charged.append(due)
    return charged


def message(n: int) -> tuple[str, uuid.UUID, str]:
    return f"m{n}-{uuid.uuid4()}", uuid.uuid4(), f"p{n * 7919 % PATIENTS}"


async def poll_asyncpg(conn: asyncpg.Connection, n: int) -> None:
    message_id, fee_id, key = message(n)
    async with conn.transaction():
        await conn.fetch(ASYNCPG["exited"], [key])
        await conn.fetch(ASYNCPG["locked"], [fee_id], [key])
        await conn.execute(ASYNCPG["record"], fee_id, key, _today(), 300)
        ledger = await conn.fetchval(ASYNCPG["ledger"], key)
        ids = [row[0] for row in ledger]
        charged = recompute([row[2] for row in ledger])
        await conn.execute(ASYNCPG["charge"], ids, charged)
        await conn.execute(ASYNCPG["emit"], message_id, key.encode(), b"{}")


def _today() -> datetime.date:  # a fixed visit date: the statement's shape is what counts
    return datetime.date(2026, 11, 30)


async def poll_psycopg(conn: psycopg.AsyncConnection, n: int, pipelined: bool) -> None:
    message_id, fee_id, key = message(n)
    if pipelined:
        async with conn.pipeline() as pipeline:
            await conn.execute(PSYCOPG["exited"], ([key],))
            await conn.execute(PSYCOPG["locked"], ([fee_id], [key]))
            await conn.execute(PSYCOPG["record"], (fee_id, key, _today(), 300))
            ledger_cursor = await conn.execute(PSYCOPG["ledger"], (key,))
            await pipeline.sync()
            (ledger,) = await ledger_cursor.fetchone()
            ids, charged = _charges(ledger)
            await conn.execute(PSYCOPG["charge"], (ids, charged))
            await conn.execute(PSYCOPG["emit"], (message_id, key.encode(), b"{}"))
            await conn.commit()
        return
    await (await conn.execute(PSYCOPG["exited"], ([key],))).fetchall()
    await (await conn.execute(PSYCOPG["locked"], ([fee_id], [key]))).fetchall()
    await conn.execute(PSYCOPG["record"], (fee_id, key, _today(), 300))
    (ledger,) = await (await conn.execute(PSYCOPG["ledger"], (key,))).fetchone()
    ids, charged = _charges(ledger)
    await conn.execute(PSYCOPG["charge"], (ids, charged))
    await conn.execute(PSYCOPG["emit"], (message_id, key.encode(), b"{}"))
    await conn.commit()


def _charges(ledger: list[tuple]) -> tuple[list[uuid.UUID], list[int]]:
    # psycopg returns an array of records as tuples of text unless the record type is registered
    ids = [uuid.UUID(str(row[0])) for row in ledger]
    return ids, recompute([int(row[2]) for row in ledger])


def backend_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def spin() -> None:
    while True:
        pass


async def main(mode: str, polls: int, rivals: int) -> None:
    setup = await asyncpg.connect(URL)
    await setup.execute(SETUP)
    await setup.close()
    if mode == "asyncpg":
        conn = await asyncpg.connect(URL)
        backend = await conn.fetchval("SELECT pg_backend_pid()")

        async def poll(n: int) -> None:
            await poll_asyncpg(conn, n)
    else:
        conn = await psycopg.AsyncConnection.connect(URL)
        backend = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
        await conn.commit()

        async def poll(n: int) -> None:
            await poll_psycopg(conn, n, pipelined=mode == "pipelined")

    for n in range(300):  # warm: prepared statements, plans, caches
        await poll(n)
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(rivals)]
    for spinner in spinners:
        spinner.start()
    await asyncio.sleep(0.2)
    walls = []
    cpu_before, backend_before = time.process_time(), backend_ticks(backend)
    for n in range(polls):
        began = time.perf_counter()
        await poll(1000 + n)
        walls.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.002)  # paced, as polls come at 200/s, not back to back
    client_cpu = (time.process_time() - cpu_before) * 1000 / polls
    backend_cpu = (backend_ticks(backend) - backend_before) * 1000 / TICKS / polls
    for spinner in spinners:
        spinner.terminate()
    walls.sort()
    p50, p99 = statistics.median(walls), walls[int(0.99 * len(walls))]
    print(
        f"{mode:9s} rivals {rivals}: wall p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
        f"cpu a poll: client {client_cpu:.2f} ms, backend {backend_cpu:.2f} ms"
    )
    await conn.close()
    cleanup = await asyncpg.connect(URL)
    await cleanup.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    await cleanup.close()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
