"""PostgreSQL's CPU by process over a command's run: each backend role's and each background process's.

.venv/bin/python docs/performance/postgres-by-process/measure.py ./efrikort bench --rate 200 ...
"""

import re
import subprocess
import sys
import time
from collections import defaultdict

from efrikort.bench_cpu import CLOCK_TICKS, living_processes, process_ticks

_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+\(\d+\)")


def kind(title: str) -> str | None:
    """`postgres: efrikort_registration efrikort 127.0.0.1(4711) idle` is `efrikort_registration efrikort`,
    `postgres: walwriter` is `walwriter`; a process that is not PostgreSQL's is None."""
    if not title.startswith("postgres:"):
        return None
    return " ".join(_ADDRESS.sub("", title.removeprefix("postgres:")).split()[:2])


def postgres_ticks() -> dict[int, tuple[str, int]]:
    """Each of PostgreSQL's living processes: its kind and the clock ticks it has used."""
    ticks: dict[int, tuple[str, int]] = {}
    for process in living_processes():
        if (what := kind(process.command_line)) is not None:
            ticks[process.pid] = (what, process_ticks(process.stat))
    return ticks


def main(command: list[str]) -> None:
    before, began = postgres_ticks(), time.monotonic()
    subprocess.run(command, check=False)
    after, seconds = postgres_ticks(), time.monotonic() - began
    by_kind: defaultdict[str, float] = defaultdict(float)
    for pid, (what, ticks) in after.items():
        by_kind[what] += (ticks - before.get(pid, (what, 0))[1]) / CLOCK_TICKS
    print(f"over {seconds:.1f} s; postgres {sum(by_kind.values()) / seconds:.3f} cores")
    for what, used in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"  {used / seconds:.3f}  {what}")


if __name__ == "__main__":
    main(sys.argv[1:])
