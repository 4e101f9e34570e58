"""Where the machine's CPU went while a bench ran: how many cores the whole machine kept busy, and each part
of the stack's share, read from /proc before and after the run; and how long each part waited for a core.

The bench shares its machine with everything it measures, so a latency is only half a figure: a run that
kept both of two cores busy measured a queue for the CPU as much as e-frikort. The parts are found by their
command lines (the services as `python -m <service>`, Kafka's `kafka.Kafka`, PostgreSQL's processes, the
bench itself), whether started by `efrikort up` or in containers on this host; a stack on another host shows
only as the machine's figure and the bench's own share.

Cores busy says the CPU was full; it does not say how much of a latency that cost. The kernel counts, for every
thread, the time it was ready to run and waited for a core (`/proc/<pid>/task/<tid>/schedstat`, its second
field): summed over a part's threads and divided by the interval, that is the cores' worth of work each part
had waiting, the queue for the CPU itself. (A kernel that keeps no such count shows none.)

`python -m efrikort.bench_cpu` prints each part's ticks so far, a line each (`docs/performance/notice-rounds/cpu.sh`).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from efrikort.services import DESK, SERVICE_PORTS

SERVICES = (*SERVICE_PORTS, DESK)
PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
"""Clock ticks a second, the unit of /proc/stat and of a process's CPU in /proc/<pid>/stat."""


@dataclass(frozen=True)
class CpuSnapshot:
    cores: int
    taken_ticks: int
    """The machine's clock ticks so far (all states, all cores): the interval's length times the cores."""
    busy_ticks: int
    """Of those, not idle and not waiting for I/O."""
    by_part: dict[str, int]
    """Ticks each part's processes have used (user and system), living processes only."""
    waited_ns_by_part: dict[str, int] = field(default_factory=dict)
    """Nanoseconds each part's threads have spent ready to run and waiting for a core, living threads only."""


@dataclass(frozen=True)
class CoreWaits:
    """Cores' worth of work waiting for a core on average over an interval, each part's and the parts' together:
    at 0.5, half a core's work was ready and not running, all through the interval."""

    by_part: dict[str, float]
    total: float | None = None
    """The parts' together where it is not their sum: over several runs, the median of the runs' totals, as the
    JSON has it (medians are taken key by key, and the sum of the parts' medians is another figure)."""

    @property
    def parts(self) -> float:
        return self.total if self.total is not None else round(sum(self.by_part.values()), 2)

    def line(self) -> str:
        return f"cpu, waiting for a core: the parts {self.parts:.2f}; {_by_part(self.by_part)}"

    def figures(self) -> dict[str, Any]:
        """As the bench's JSON carries it (`cpu_cores_waiting`), flat as `CpuUse.figures`."""
        return {"parts": self.parts, **self.by_part}

    @classmethod
    def from_figures(cls, figures: dict[str, Any]) -> CoreWaits:
        return cls({name: waited for name, waited in figures.items() if name != "parts"}, figures.get("parts"))


@dataclass(frozen=True)
class CpuUse:
    """Cores kept busy on average over an interval: the machine's and each part's."""

    cores: int
    machine: float
    by_part: dict[str, float]
    waiting: CoreWaits | None = None
    """How much of each part's work waited for a core meanwhile, where the kernel counts it."""

    def lines(self) -> list[str]:
        busy = f"cpu, cores busy: machine {self.machine:.2f} of {self.cores}; {_by_part(self.by_part)}"
        return [busy] if self.waiting is None else [busy, self.waiting.line()]

    def figures(self) -> dict[str, Any]:
        """As the bench's JSON carries it (`cpu_cores_busy`): one flat object, so that medians are taken key by key."""
        return {"of": self.cores, "machine": self.machine, **self.by_part}

    @classmethod
    def from_figures(cls, figures: dict[str, Any], waiting: dict[str, Any] | None = None) -> CpuUse:
        parts = {name: used for name, used in figures.items() if name not in ("of", "machine")}
        waits = CoreWaits.from_figures(waiting) if waiting is not None else None
        return cls(int(figures["of"]), figures["machine"], parts, waits)


def _by_part(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in sorted(figures.items(), key=lambda p: -p[1]))


def part_of(command_line: str, pid: int, bench_pid: int) -> str | None:
    """Which part of the stack a process is, by its command line; None for anything else on the machine."""
    if pid == bench_pid:
        return "bench"
    if "kafka.Kafka" in command_line:
        return "kafka"
    if command_line.startswith("postgres") or "/bin/postgres" in command_line:
        return "postgres"
    for service in SERVICES:
        if command_line.endswith(f"-m {service}"):
            return service
    return None


@dataclass(frozen=True)
class LivingProcess:
    """A process as /proc shows it now: its folder there, its command line and its `stat`."""

    folder: Path
    command_line: str
    stat: str

    @property
    def pid(self) -> int:
        return int(self.folder.name)


def living_processes() -> Iterator[LivingProcess]:
    """Every process this one may read; one gone since it was listed is left out."""
    for folder in PROC.iterdir():
        if not folder.name.isdigit():
            continue
        try:
            command_line = (folder / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            stat = (folder / "stat").read_text()
        except OSError:  # gone since it was listed, or not ours to read
            continue
        yield LivingProcess(folder, command_line, stat)


def snapshot() -> CpuSnapshot:
    bench_pid = os.getpid()
    taken, busy = _machine_ticks()
    by_part: Counter[str] = Counter()
    waited: Counter[str] = Counter()
    for process in living_processes():
        part = part_of(process.command_line, process.pid, bench_pid)
        if part is not None:
            by_part[part] += process_ticks(process.stat)
            waited[part] += _waited_ns(process.folder)
    return CpuSnapshot(os.cpu_count() or 1, taken, busy, dict(by_part), dict(waited))


def used_between(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    # /proc/stat counts every core's ticks: the interval's own length is their sum over the cores.
    interval = max(after.taken_ticks - before.taken_ticks, 1) / after.cores
    by_part = {
        part: round(max(ticks - before.by_part.get(part, 0), 0) / interval, 2) for part, ticks in after.by_part.items()
    }
    busy = round((after.busy_ticks - before.busy_ticks) / interval, 2)
    return CpuUse(after.cores, busy, by_part, waited_between(before, after))


def waited_between(before: CpuSnapshot, after: CpuSnapshot) -> CoreWaits | None:
    """How many cores' worth of each part's work waited for a core; None where the kernel keeps no count."""
    if not any(after.waited_ns_by_part.values()):
        return None
    seconds = max(after.taken_ticks - before.taken_ticks, 1) / after.cores / CLOCK_TICKS
    return CoreWaits(
        {
            part: round(max(waited - before.waited_ns_by_part.get(part, 0), 0) / 1e9 / seconds, 2)
            for part, waited in after.waited_ns_by_part.items()
        }
    )


def _waited_ns(process: Path) -> int:
    """The time a process's threads have waited for a core, in ns (`schedstat`: on a core, waiting, slices)."""
    total = 0
    with contextlib.suppress(OSError):
        for task in (process / "task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int((task / "schedstat").read_text().split()[1])
    return total


def _machine_ticks() -> tuple[int, int]:
    # The first line of /proc/stat: user nice system idle iowait irq softirq steal ...
    fields = [int(value) for value in (PROC / "stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields), sum(fields) - idle


def process_ticks(stat: str) -> int:
    """The clock ticks a process has used (user and system), from its `/proc/<pid>/stat`."""
    # The command name (field 2) may hold spaces and parentheses: count from the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


if __name__ == "__main__":
    # Here the process taking the snapshot is not a bench: it is left out rather than counted as one.
    for name, ticks in sorted(snapshot().by_part.items()):
        if name != "bench":
            print(name, ticks)
