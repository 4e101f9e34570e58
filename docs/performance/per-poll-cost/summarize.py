"""summarize.py, called by measure.sh: a run's CPU per submission beside how many submissions each poll and
relay batch carried, read off the statements PostgreSQL counted for the run (`efrikort.statements`, what
`efrikort statements` prints, read whole).

  summarize.py idle SECONDS IDLE_JSON                   the stack's CPU at rest, by part (kept for the runs)
  summarize.py run RATE COUNT BENCH_JSON IDLE_JSON
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

from efrikort import statements
from efrikort.bench_cpu import snapshot, used_between
from efrikort.infra.stack import LocalInfra

POLLS = {
    # One statement a poll (or a relay batch), by the role that runs it and a piece of its text.
    "registration's polls of submissions": ("efrikort_registration", "INSERT INTO submissions"),
    "protection's polls of fees": ("efrikort_protection", "lock_patients_and_read_before_recording"),
    # The keeping of protection's outcomes, not of registration's own rejections (which insert there too).
    "registration's polls of outcomes": ("efrikort_registration", "'accepted', u.outcome"),
    "registration's relay batches": ("efrikort_registration", "release_outbox_batch"),
    "protection's relay batches": ("efrikort_protection", "release_outbox_batch"),
}
STATEMENTS_READ = 1000
"""More kinds of statement than a run makes (about 30), so that every one it made is read."""
PARTS = ("registration", "protection", "postgres", "kafka", "bench", "access", "notifications")


def idle(seconds: float, path: str) -> None:
    before = snapshot()
    time.sleep(seconds)
    use = used_between(before, snapshot())
    Path(path).write_text(json.dumps({"machine": use.machine, **use.by_part}))
    print(f"at rest ({seconds:.0f} s): {use.line()}")


def run(rate: str, count: int, bench_json: str, idle_json: str) -> None:
    figure = json.loads(Path(bench_json).read_text())["runs"][0]
    cpu = figure["cpu_cores_busy"]
    rest = json.loads(Path(idle_json).read_text())
    per_second = figure["per_second"]

    def ms_per_submission(part: str) -> float:
        return 1000 * max(cpu.get(part, 0) - rest.get(part, 0), 0) / per_second

    parts = ", ".join(f"{part} {ms_per_submission(part):.1f}" for part in PARTS)
    print(
        f"{rate}: {per_second:.0f}/s, p50 {figure['p50_ms']:.0f} ms, p99 {figure['p99_ms']:.0f} ms; machine "
        f"{cpu['machine']:.2f} of {cpu['of']} cores; CPU per submission above rest "
        f"{ms_per_submission('machine'):.1f} ms ({parts})"
    )
    rows = asyncio.run(statements.top(LocalInfra().endpoints.database_url, STATEMENTS_READ))
    by_role: Counter[str] = Counter()
    for row in rows:
        by_role[row.role] += row.calls
    print(
        "  statements per submission: "
        + ", ".join(f"{r.removeprefix('efrikort_')} {n / count:.2f}" for r, n in by_role.most_common())
    )
    carried = []
    for name, (role, piece) in POLLS.items():
        calls = sum(row.calls for row in rows if row.role == role and piece in row.query)
        carried.append(f"{name} {count / calls:.2f}" if calls else f"{name} none counted")
    print("  submissions carried by each of " + "; ".join(carried))


if __name__ == "__main__":
    if sys.argv[1] == "idle":
        idle(float(sys.argv[2]), sys.argv[3])
    else:
        run(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
