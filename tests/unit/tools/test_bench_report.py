"""The bench's report: each figure beside the floor as a ratio, medians taken figure by figure, the curve drawn;
and its sender, timed from when the producer takes a message."""

from __future__ import annotations

from pathlib import Path

from efrikort.bench import BenchResult, Hop, sender_linger_ms
from efrikort.bench_cpu import CoreWaits, CpuUse
from efrikort.bench_report import Run, draw_curve, medians, medians_line, run_line


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


def timed_hops(*p50_ms: float) -> tuple[Hop, ...]:
    return tuple(Hop(f"hop {index}", [latency] * 100) for index, latency in enumerate(p50_ms, start=1))


def test_a_run_shows_where_its_time_went_hop_by_hop() -> None:
    run = Run(BenchResult(100, 1, [300] * 100, timed_hops(100, 20, 180)), None)
    assert "hops p50 / p99 ms: hop 1 100 / 100, hop 2 20 / 20, hop 3 180 / 180" in run_line(1, run)


def test_the_hops_have_medians_of_their_own() -> None:
    runs = [Run(BenchResult(100, 1, [300] * 100, timed_hops(p50, 10)), None) for p50 in (50, 90, 70)]
    summary = medians(runs, "submissions", 200)
    assert summary["hops"]["hop 1"] == {"p50_ms": 70, "p99_ms": 70}
    assert summary["hops"]["hop 2"]["p50_ms"] == 10
    assert summary["runs"][0]["hops"]["hop 1"]["p50_ms"] == 50


def busy(machine: float, registration: float) -> BenchResult:
    return BenchResult(100, 1, [300] * 100, cpu=CpuUse(2, machine, {"registration": registration, "bench": 0.1}))


def test_a_run_says_how_busy_it_kept_the_machine_and_each_part() -> None:
    line = run_line(1, Run(busy(1.9, 0.6), None))
    assert "cpu, cores busy: machine 1.90 of 2; registration 0.60, bench 0.10" in line


def test_how_busy_the_machine_was_has_medians_of_its_own() -> None:
    summary = medians(
        [Run(busy(machine, registration), None) for machine, registration in ((1.9, 0.5), (1.2, 0.7), (1.5, 0.6))],
        "submissions",
        200,
    )
    assert summary["cpu_cores_busy"] == {"of": 2, "machine": 1.5, "registration": 0.6, "bench": 0.1}
    assert summary["runs"][0]["cpu_cores_busy"]["machine"] == 1.9
    assert "cpu, cores busy: machine 1.50 of 2; registration 0.60, bench 0.10" in medians_line(summary)


def waiting(postgres: float, registration: float) -> BenchResult:
    waits = CoreWaits({"postgres": postgres, "registration": registration})
    return BenchResult(100, 1, [300] * 100, cpu=CpuUse(2, 1.8, {"registration": 0.5}, waits))


def test_a_run_says_how_much_of_each_parts_work_waited_for_a_core() -> None:
    line = run_line(1, Run(waiting(0.48, 0.23), None))
    assert "\n       cpu, waiting for a core: the parts 0.71; postgres 0.48, registration 0.23" in line


def test_the_waiting_has_medians_of_its_own() -> None:
    summary = medians([Run(waiting(p, r), None) for p, r in ((0.5, 0.1), (0.3, 0.3), (0.4, 0.2))], "submissions", 200)
    assert summary["cpu_cores_waiting"] == {"parts": 0.6, "postgres": 0.4, "registration": 0.2}
    assert summary["runs"][1]["cpu_cores_waiting"]["postgres"] == 0.3
    assert "\n  cpu, waiting for a core: the parts 0.60; postgres 0.40, registration 0.20" in medians_line(summary)


def test_the_medians_line_gives_the_parts_waiting_together_as_the_json_does() -> None:
    # Totals 0.6, 0.6 and 0.3: their median is 0.6, where the parts' medians (0.3 and 0.1) add up to 0.4.
    summary = medians([Run(waiting(p, r), None) for p, r in ((0.5, 0.1), (0.1, 0.5), (0.3, 0.0))], "submissions", 200)
    assert summary["cpu_cores_waiting"]["parts"] == 0.6
    assert "\n  cpu, waiting for a core: the parts 0.60; postgres 0.30, registration 0.10" in medians_line(summary)


def test_a_kernel_that_keeps_no_count_of_waiting_shows_none() -> None:
    summary = medians([Run(busy(1.9, 0.6), None)], "submissions", 200)
    assert "cpu_cores_waiting" not in summary
    assert "waiting for a core" not in medians_line(summary)


def test_the_curve_is_drawn_as_a_png(tmp_path: Path) -> None:
    runs = [Run(result(20, 30), result(20, 10))]
    points = [medians(runs, "submissions", rate) for rate in (10, 20)]
    path = tmp_path / "curve" / "latency.png"
    draw_curve(points, path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_paced_sender_sends_each_message_at_once_and_only_flat_out_fills_batches() -> None:
    assert sender_linger_ms(200) == 0
    assert sender_linger_ms(10) == 0
    assert sender_linger_ms(None) == 5
