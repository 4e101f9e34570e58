"""The CPU one service process spends per HTTP request: its scheduler's run time (/proc/PID/schedstat) over
COUNT requests sent at RATE per second as the HTTP bench sends them (`efrikort.bench.requests_at_rate`: kept
connections, opened as needed and counted with the rest), as the bench's employee and system (the development
identity headers). A measuring aid, not part of the product:

    .venv/bin/python docs/performance/http-cost/probe.py "$(pgrep -f 'python -m registration')" \
        POST /v1/fees valid 800 100

KIND: `none` (no body), `empty` (`{}`: refused for its shape), `unapproved` (a valid submission through a
system nobody approved: refused by authorization), `valid` (registered and answered). `--port` (8081).
The bench's employee must be known: run `./efrikort bench --http ...` once first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from datetime import date, timedelta
from pathlib import Path

from efrikort.bench import (
    BENCH_EMPLOYEE,
    BENCH_SYSTEM,
    bench_submission,
    requests_at_rate,
    synthetic_patients,
)

UNAPPROVED_SYSTEM = "SE0000000000-NOPE"


def cpu_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def probe(pid: int, method: str, path: str, kind: str, count: int, rate: float, port: int) -> str:
    people = synthetic_patients(1000, random.randrange(10**6), 0)
    rng = random.Random()
    first_visit = date.today() - timedelta(days=300)

    def body() -> bytes:
        if kind == "none":
            return b""
        if kind == "empty":
            return b"{}"
        return json.dumps(bench_submission(rng, people, first_visit)).encode()

    system = UNAPPROVED_SYSTEM if kind == "unapproved" else BENCH_SYSTEM
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\n"
        f"X-HSA-ID: {BENCH_EMPLOYEE}\r\nX-System-ID: {system}\r\n"
    )

    def request() -> bytes:
        content = body()
        return f"{head}Content-Length: {len(content)}\r\n\r\n".encode() + content

    before = cpu_ns(pid)
    answered = await requests_at_rate("127.0.0.1", port, request, count, rate)
    await asyncio.sleep(1.0)  # what the requests set off (relay, outcomes) is counted too
    per_request_ms = (cpu_ns(pid) - before) / 1e6 / count
    latencies = sorted(answered.milliseconds())
    p50 = latencies[len(latencies) // 2]
    statuses = dict(answered.by_status())
    return f"{kind} {method} {path}: {statuses}, CPU {per_request_ms:.2f} ms per request, p50 {p50:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pid", type=int)
    parser.add_argument("method")
    parser.add_argument("path")
    parser.add_argument("kind", choices=["none", "empty", "unapproved", "valid"])
    parser.add_argument("count", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    print(asyncio.run(probe(args.pid, args.method, args.path, args.kind, args.count, args.rate, args.port)))


if __name__ == "__main__":
    main()
