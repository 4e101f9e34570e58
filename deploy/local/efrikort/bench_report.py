"""What a bench prints: each figure beside the raw Kafka floor measured in the same run, as a ratio;
the medians of the runs; the same as JSON; and the latency-against-offered-rate curve as a PNG."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from efrikort.bench import BenchResult
from efrikort.bench_cpu import CpuUse


@dataclass(frozen=True)
class Run:
    """One timed run of the figure, and the floor measured just before it at the same load."""

    figure: BenchResult
    floor: BenchResult | None


def _ratio(figure: float, floor: float) -> float | None:
    return round(figure / floor, 2) if floor > 0 else None


def run_summary(run: Run) -> dict[str, Any]:
    figure = _figures(run.figure)
    if run.floor is None:
        return figure
    floor = _figures(run.floor)
    return {
        **figure,
        "floor": floor,
        "ratio": {name: _ratio(figure[name], floor[name]) for name in ("per_second", "p50_ms", "p99_ms")},
    }


def _figures(result: BenchResult) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "count": result.submissions,
        "per_second": round(result.per_second, 1),
        "p50_ms": round(result.percentile(50), 1),
        "p99_ms": round(result.percentile(99), 1),
        "mean_ms": round(statistics.fmean(result.latencies_ms), 1),
    }
    if result.hops:
        figures["hops"] = {
            hop.name: {"p50_ms": round(hop.percentile(50), 1), "p99_ms": round(hop.percentile(99), 1)}
            for hop in result.hops
        }
    if result.cpu:
        figures["cpu_cores_busy"] = result.cpu.figures()
        if result.cpu.waiting:
            figures["cpu_cores_waiting"] = result.cpu.waiting.figures()
    return figures


def run_line(index: int, run: Run) -> str:
    """One run: the figure, the floor, and figure/floor for throughput, p50 and p99."""
    line = f"run {index}: {run.figure.report()}"
    if run.floor is None:
        return line
    summary = run_summary(run)
    floor, ratio = summary["floor"], summary["ratio"]
    return (
        f"{line}\n       floor {floor['per_second']:.0f}/s, p50 {floor['p50_ms']:.0f} ms, p99 {floor['p99_ms']:.0f} ms"
        f"; ratio {ratio['per_second']} / {ratio['p50_ms']} / {ratio['p99_ms']} (throughput / p50 / p99)"
    )


def medians(runs: Sequence[Run], what: str, offered: float | None) -> dict[str, Any]:
    """The median over the runs of each figure, each floor figure and each ratio (each taken on its own)."""
    summaries = [run_summary(run) for run in runs]

    def median_of(*path: str) -> float | None:
        values = [_at(summary, path) for summary in summaries]
        present = [value for value in values if value is not None]
        return statistics.median(present) if present else None

    result: dict[str, Any] = {"what": what, "offered_per_second": offered, "runs": summaries}
    for name in ("per_second", "p50_ms", "p99_ms"):
        result[name] = median_of(name)
        if runs and runs[0].floor is not None:
            result.setdefault("floor", {})[name] = median_of("floor", name)
            result.setdefault("ratio", {})[name] = median_of("ratio", name)
    if runs and runs[0].figure.hops:
        result["hops"] = {
            hop.name: {name: median_of("hops", hop.name, name) for name in ("p50_ms", "p99_ms")}
            for hop in runs[0].figure.hops
        }
    if runs and runs[0].figure.cpu:
        result["cpu_cores_busy"] = {name: median_of("cpu_cores_busy", name) for name in summaries[0]["cpu_cores_busy"]}
    if runs and runs[0].figure.cpu and runs[0].figure.cpu.waiting:
        waiting = summaries[0]["cpu_cores_waiting"]
        result["cpu_cores_waiting"] = {name: median_of("cpu_cores_waiting", name) for name in waiting}
    return result


def _at(summary: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = summary
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return value


def medians_line(result: dict[str, Any]) -> str:
    line = (
        f"median of {len(result['runs'])} runs ({result['what']}): {result['per_second']:.0f}/s, "
        f"latency p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms"
    )
    if "hops" in result:
        hops = result["hops"].items()
        stretches = ", ".join(f"{name} {hop['p50_ms']:.0f} / {hop['p99_ms']:.0f}" for name, hop in hops)
        line = f"{line}\n  hops p50 / p99 ms: {stretches}"
    if "cpu_cores_busy" in result:
        cpu = CpuUse.from_figures(result["cpu_cores_busy"], result.get("cpu_cores_waiting"))
        line = "\n  ".join([line, *cpu.lines()])
    if "floor" not in result:
        return line
    floor, ratio = result["floor"], result["ratio"]
    return (
        f"{line}\n  raw Kafka floor, same runs: {floor['per_second']:.0f}/s, p50 {floor['p50_ms']:.0f} ms, "
        f"p99 {floor['p99_ms']:.0f} ms; ratio to it: throughput {ratio['per_second']}, "
        f"p50 {ratio['p50_ms']}, p99 {ratio['p99_ms']}"
    )


def write_json(path: str, document: Any) -> None:
    text = json.dumps(document, indent=2)
    if path == "-":
        print(text)
    else:
        Path(path).write_text(text + "\n")


def draw_curve(points: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """p50 and p99 against the offered rate, the figure's and the floor's, on log-scaled axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [point["offered_per_second"] for point in points]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, style in (("p50_ms", "o-"), ("p99_ms", "s--")):
        axes.plot(rates, [point[name] for point in points], style, label=f"e-frikort {name[:3]}")
        if all("floor" in point for point in points):
            floor = [point["floor"][name] for point in points]
            axes.plot(rates, floor, style, alpha=0.5, label=f"Kafka floor {name[:3]}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("offered submissions/s")
    axes.set_ylabel("latency, ms (median of runs)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
