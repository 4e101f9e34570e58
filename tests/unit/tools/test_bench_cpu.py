"""The bench's account of the machine's CPU during a run: each part of the stack known by its command line,
the cores each kept busy, with the machine's own figure beside them, and how much of each part's work waited
for a core."""

from __future__ import annotations

import multiprocessing
import os
import time

from efrikort.bench_cpu import CLOCK_TICKS, CpuSnapshot, part_of, snapshot, used_between

BENCH = 4242


def test_each_part_of_the_stack_is_known_by_its_command_line() -> None:
    assert part_of("/work/main/.venv/bin/python -m registration", 10, BENCH) == "registration"
    assert part_of("python -m protection", 11, BENCH) == "protection"  # in a container, by the entrypoint
    assert part_of("/usr/bin/java -Xmx512m -cp /x/lib/* kafka.Kafka /x/server.properties", 12, BENCH) == "kafka"
    assert part_of("/x/pginstall/bin/postgres -D /x/data -p 55432", 13, BENCH) == "postgres"
    assert part_of("postgres: efrikort_registration efrikort 127.0.0.1(40588) idle", 14, BENCH) == "postgres"
    assert part_of("postgres: walwriter", 15, BENCH) == "postgres"


def test_the_bench_is_itself_and_anything_else_on_the_machine_is_no_part() -> None:
    assert part_of("/work/main/.venv/bin/python /work/main/.venv/bin/efrikort bench", BENCH, BENCH) == "bench"
    assert part_of("/work/main/.venv/bin/python /work/main/.venv/bin/efrikort bench", 99, BENCH) is None
    assert part_of("bash", 16, BENCH) is None
    assert part_of("/usr/bin/python3 -m registration_tool_of_someone_else", 17, BENCH) is None


def test_the_cores_kept_busy_are_the_ticks_used_over_the_intervals_length() -> None:
    # One second on two cores at 100 ticks a second: 200 ticks taken, 150 of them busy.
    before = CpuSnapshot(cores=2, taken_ticks=1000, busy_ticks=400, by_part={"registration": 500, "kafka": 70})
    after = CpuSnapshot(cores=2, taken_ticks=1200, busy_ticks=550, by_part={"registration": 560, "kafka": 110})
    use = used_between(before, after)
    assert use.machine == 1.5
    assert use.by_part == {"registration": 0.6, "kafka": 0.4}


def test_a_part_that_started_during_the_run_counts_from_nothing() -> None:
    before = CpuSnapshot(cores=2, taken_ticks=0, busy_ticks=0, by_part={})
    after = CpuSnapshot(cores=2, taken_ticks=200, busy_ticks=50, by_part={"bench": 30})
    assert used_between(before, after).by_part == {"bench": 0.3}


def test_the_cpu_a_run_used_is_counted_for_its_part_and_for_the_machine() -> None:
    before = snapshot()
    spent = time.process_time()
    while time.process_time() - spent < 0.5:
        pass
    use = used_between(before, snapshot())
    # Lower bounds only: on a loaded machine the half second of CPU is spread over a longer interval.
    assert use.by_part["bench"] > 0.1
    assert use.machine >= use.by_part["bench"] - 0.05
    assert "bench" in use.lines()[0] and f"of {use.cores}" in use.lines()[0]


def test_the_waiting_for_a_core_is_each_parts_threads_time_ready_and_not_running_over_the_interval() -> None:
    # Two seconds on two cores: registration's threads waited 1 s of it between them, postgres 0.2 s.
    ticks = 2 * 2 * CLOCK_TICKS
    before = CpuSnapshot(2, 0, 0, {}, waited_ns_by_part={"registration": 5 * 10**9, "postgres": 10**9})
    after = CpuSnapshot(2, ticks, 0, {}, waited_ns_by_part={"registration": 6 * 10**9, "postgres": 12 * 10**8})
    waits = used_between(before, after).waiting
    assert waits is not None
    assert waits.by_part == {"registration": 0.5, "postgres": 0.1}
    assert waits.parts == 0.6


def test_a_kernel_that_counts_no_waiting_gives_no_figure_rather_than_a_zero() -> None:
    before = CpuSnapshot(2, 0, 0, {"registration": 1}, waited_ns_by_part={"registration": 0})
    after = CpuSnapshot(2, 200, 0, {"registration": 5}, waited_ns_by_part={"registration": 0})
    assert used_between(before, after).waiting is None


def _spin(seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def test_a_part_that_had_to_wait_for_a_core_shows_its_waiting() -> None:
    # Four busy processes for each core beside the bench's own: the bench is ready all the time and gets a
    # small share of a core, so it waits far longer than it runs (about three times as long, measured here).
    # Bounds only, no timing: how the kernel shares the cores depends on it and on the machine's other load.
    cores = os.cpu_count() or 1
    before = snapshot()
    rivals = [multiprocessing.Process(target=_spin, args=(1.0,)) for _ in range(4 * cores)]
    for rival in rivals:
        rival.start()
    _spin(1.0)
    for rival in rivals:
        rival.join()
    use = used_between(before, snapshot())
    assert use.waiting is not None, "this kernel keeps no schedstat count of waiting (CONFIG_SCHED_INFO)"
    assert use.waiting.by_part["bench"] > 0.1
    assert use.waiting.by_part["bench"] > 1.5 * use.by_part["bench"]
