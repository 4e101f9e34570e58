"""Each set of `sets.sh` on a line (its medians, the floor's, the machine's cores busy and the parts' waiting),
then how many sets met 200/s's target and how the p50 follows the cores busy.

    .venv/bin/python docs/performance/hour-of-sets/summary.py var/hour-of-sets
"""

import json
import statistics
import sys
from pathlib import Path

P50_TARGET_MS, P99_TARGET_MS = 20, 50


def main(folder: Path) -> None:
    sets = sorted(folder.glob("set-*.json"), key=lambda path: int(path.stem.split("-")[1]))
    met = 0
    rows = []
    for path in sets:
        figure = json.loads(path.read_text())
        p50, p99 = figure["p50_ms"], figure["p99_ms"]
        busy = figure["cpu_cores_busy"]["machine"]
        waiting = figure.get("cpu_cores_waiting", {}).get("parts")
        floor = figure["floor"]
        ok = p50 <= P50_TARGET_MS and p99 <= P99_TARGET_MS
        met += ok
        rows.append((busy, p50))
        print(
            f"{path.stem}: p50 / p99 {p50:.0f} / {p99:.0f} ms; floor {floor['p50_ms']:.0f} / {floor['p99_ms']:.0f} ms;"
            f" cores busy {busy:.2f}, waiting {waiting}; {'met' if ok else 'not met'}"
        )
    print(f"{met} of {len(sets)} sets met p50 <= {P50_TARGET_MS} and p99 <= {P99_TARGET_MS} ms")
    if len(rows) >= 2:
        by_busy = sorted(rows)
        half = len(by_busy) // 2
        fewer, more = by_busy[:half], by_busy[half:]
        print(
            f"p50 median of the {len(fewer)} sets with the fewest cores busy ({fewer[0][0]:.2f} to {fewer[-1][0]:.2f}):"
            f" {statistics.median(p50 for _, p50 in fewer):.0f} ms; of the other {len(more)}"
            f" ({more[0][0]:.2f} to {more[-1][0]:.2f}): {statistics.median(p50 for _, p50 in more):.0f} ms"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
