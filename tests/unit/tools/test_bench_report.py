"""The bench's report: each figure beside the floor as a ratio, medians taken figure by figure, the curve drawn."""

from __future__ import annotations

from pathlib import Path

from efrikort.bench import BenchResult
from efrikort.bench_report import Run, draw_curve, medians, run_line


def result(per_second: float, latency_ms: float) -> BenchResult:
    return BenchResult(100, 100 / per_second, [latency_ms] * 100)


def test_each_run_stands_beside_its_floor_as_a_ratio() -> None:
    run = Run(result(150, 300), result(200, 20))
    line = run_line(1, run)
    assert "floor 200/s, p50 20 ms, p99 20 ms" in line
    assert "ratio 0.75 / 15.0 / 15.0" in line


def test_the_medians_take_each_figure_floor_and_ratio_on_its_own() -> None:
    runs = [
        Run(result(100, 300), result(200, 30)),
        Run(result(150, 200), result(200, 10)),
        Run(result(120, 250), result(200, 50)),
    ]
    summary = medians(runs, "submissions", 200)
    assert summary["per_second"] == 120
    assert summary["p50_ms"] == 250
    assert summary["floor"]["p50_ms"] == 30
    # The ratios are each run's, then their median: 10, 20 and 5, not 250 / 30.
    assert summary["ratio"]["p50_ms"] == 10
    assert summary["offered_per_second"] == 200


def test_the_curve_is_drawn_as_a_png(tmp_path: Path) -> None:
    runs = [Run(result(20, 30), result(20, 10))]
    points = [medians(runs, "submissions", rate) for rate in (10, 20)]
    path = tmp_path / "curve" / "latency.png"
    draw_curve(points, path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
