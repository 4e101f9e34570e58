"""Each set of `sets.sh` on a line (its medians, the floor's, the machine's cores busy and the parts' waiting),
then, for each offered rate, how many sets met 200/s's target and how the p50 follows the cores busy.

    .venv/bin/python docs/performance/hour-of-sets/summary.py var/hour-of-sets
"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

P50_TARGET_MS, P99_TARGET_MS = 20, 50


def in_order(path: Path) -> tuple[int, ...]:
    """set-3-150.json (or set-3.json, as the first sets were named): by round, then by rate."""
    return tuple(int(part) for part in path.stem.split("-")[1:])


class Set(NamedTuple):
    """One set's medians, as `summary.py` weighs them; ordered by cores busy first."""

    cores_busy: float
    p50_ms: float
    met: bool


def median_p50(sets: list[Set]) -> float:
    return statistics.median(figure.p50_ms for figure in sets)


def main(folder: Path) -> None:
    by_rate: dict[float, list[Set]] = defaultdict(list)
    for path in sorted(folder.glob("set-*.json"), key=in_order):
        figure = json.loads(path.read_text())
        p50, p99 = figure["p50_ms"], figure["p99_ms"]
        busy = figure["cpu_cores_busy"]["machine"]
        waiting = figure.get("cpu_cores_waiting", {}).get("parts")
        floor = figure["floor"]
        ok = p50 <= P50_TARGET_MS and p99 <= P99_TARGET_MS
        by_rate[figure["offered_per_second"]].append(Set(busy, p50, ok))
        print(
            f"{path.stem}: {figure['offered_per_second']:.0f}/s p50 / p99 {p50:.0f} / {p99:.0f} ms;"
            f" floor {floor['p50_ms']:.0f} / {floor['p99_ms']:.0f} ms;"
            f" cores busy {busy:.2f}, waiting {waiting}; {'met' if ok else 'not met'}"
        )
    for rate, rows in sorted(by_rate.items()):
        met = sum(figure.met for figure in rows)
        print(f"{rate:.0f}/s: {met} of {len(rows)} sets met p50 <= {P50_TARGET_MS} and p99 <= {P99_TARGET_MS} ms")
        if len(rows) >= 2:
            by_busy = sorted(rows)
            half = len(by_busy) // 2
            fewer, more = by_busy[:half], by_busy[half:]
            print(
                f"  p50 median of the {len(fewer)} sets with the fewest cores busy ({fewer[0].cores_busy:.2f} to"
                f" {fewer[-1].cores_busy:.2f}): {median_p50(fewer):.0f} ms; of the other {len(more)}"
                f" ({more[0].cores_busy:.2f} to {more[-1].cores_busy:.2f}): {median_p50(more):.0f} ms"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
