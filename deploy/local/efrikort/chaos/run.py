"""`efrikort chaos`: load an e-frikort of the run's own while breaking it, then check that nothing was
lost, doubled or miscounted.

The run starts its own Kafka, PostgreSQL and four services (`efrikort.chaos.stack`), sends the
submissions as an integrated system (`efrikort.chaos.client`) while the agent kills and restarts
(`efrikort.chaos.agent`), waits until the stack has settled, and checks (`efrikort.chaos.checks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts import clock
from contracts.topics import SYSTEM_FEE_OUTCOMES, SYSTEM_FEE_SUBMISSIONS
from efrikort.chaos.agent import Agent, Disturbance
from efrikort.chaos.checks import Replay, Verdict, verdict
from efrikort.chaos.client import Observed, change_fees, producer_of, read_outcomes, send_all
from efrikort.chaos.observe import settle
from efrikort.chaos.stack import ChaosStack
from efrikort.chaos.workload import CHAOS_SYSTEM, Workload, chaos_workload
from efrikort.example import SystemLogin
from protection.recompute import recompute
from protection.regions import RegionSettings

Say = Callable[[str], None]


@dataclass(frozen=True)
class ChaosOptions:
    root: Path
    """The run's own directory: its servers' data, the services' logs, the letters."""
    submissions: int = 10_000
    kill_every: float = 5.0
    seed: int = 1
    rate: float = 25.0
    """Submissions per second."""
    rolling: bool = False
    """Instead of kills and restarts of the servers: each service in turn stopped (SIGTERM), started, ready."""
    restart_infra: bool = True
    min_kills: int = 3
    """The load is not over before this many kills, however soon every submission is answered."""
    stall_timeout: float = 300.0
    """Give up waiting for outcomes when none has come for this long."""
    settle_timeout: float = 600.0
    replay: Replay = recompute
    """The rules the ledgers are checked against (protection's own)."""


@dataclass
class ChaosReport:
    options: dict[str, Any]
    patients: int
    submissions: int
    meant_to_be_refused: int
    corrections_and_deletions: int
    seconds: float
    disturbances: list[Disturbance]
    resent: int
    revived: int
    """Times a service that failed its start-up (a server away) was started again, as a supervisor would."""
    settled: bool
    verdict: Verdict
    changes: dict[str, int] = field(default_factory=dict)
    pause_began_at: float = 0.0
    """When the longest pause between outcomes began, in seconds since the load began."""

    @property
    def ok(self) -> bool:
        return self.settled and self.verdict.ok

    def kills(self) -> int:
        return sum(1 for d in self.disturbances if d.what == "kill")

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["ok"] = self.ok
        document["kills"] = self.kills()
        return document


def run_chaos(options: ChaosOptions, say: Say) -> ChaosReport:
    stack = ChaosStack.create(options.root)
    try:
        say(f"starting Kafka and PostgreSQL of the run's own under {options.root} ...")
        stack.start_infra()
        say("starting the four services ...")
        stack.start_services(timeout=240)
        say("admitting the run's system, units and employee through access ...")
        login = asyncio.run(stack.admit_actors())
        workload = chaos_workload(options.submissions, options.seed, clock.today_in_sweden())
        return asyncio.run(load_and_check(stack, login, workload, options, say))
    finally:
        say("stopping the run's services, Kafka and PostgreSQL ...")
        stack.stop()


async def load_and_check(
    stack: ChaosStack, login: SystemLogin, workload: Workload, options: ChaosOptions, say: Say
) -> ChaosReport:
    observed = Observed()
    began = time.monotonic()
    began_ms = int(time.time() * 1000)
    agent = Agent(
        stack,
        progress=lambda: observed.sent / len(workload.submissions),
        began=began,
        kill_every=options.kill_every,
        seed=options.seed,
        rolling=options.rolling,
        restart_infra=options.restart_infra,
    )
    say(
        f"sending {len(workload.submissions)} submissions for {len(workload.patients)} patients at {options.rate:.0f}/s"
    )
    agent.start()
    try:
        await drive(stack, login, workload, observed, agent, options, say)
    finally:
        await asyncio.to_thread(agent.stop)
    if agent.failure is not None:
        raise RuntimeError(f"the chaos agent failed: {agent.failure!r}") from agent.failure
    say("load done; every service running again ...")
    await asyncio.to_thread(_all_running, stack)
    settled = await settle(stack.endpoints, options.settle_timeout, say)
    say("checking ...")
    region = RegionSettings.load()
    found = await verdict(
        stack.endpoints, workload, stack.patient_key_secret, region, options.replay, sent_at_ms=observed.sent_at_ms
    )
    return ChaosReport(
        options={k: str(v) for k, v in asdict(options).items() if k != "replay"},
        patients=len(workload.patients),
        submissions=len(workload.submissions),
        meant_to_be_refused=sum(1 for p in workload.submissions if not p.accepted),
        corrections_and_deletions=workload.changes,
        seconds=time.monotonic() - began,
        disturbances=agent.done,
        resent=observed.resent,
        revived=agent.revived,
        settled=settled,
        verdict=found,
        changes=dict(_tally(observed.changes.values())),
        pause_began_at=max(0.0, (found.longest_pause_began_ms - began_ms) / 1000),
    )


def _tally(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _all_running(stack: ChaosStack) -> None:
    """Start whichever service is not running (a kill's restart may have died with the broker away)."""
    for process in stack.services.values():
        if process.process is None or process.process.poll() is not None:
            process.start()
    for process in stack.services.values():
        process.wait_ready(timeout=240)


async def drive(
    stack: ChaosStack,
    login: SystemLogin,
    workload: Workload,
    observed: Observed,
    agent: Agent,
    options: ChaosOptions,
    say: Say,
) -> None:
    """Send everything; read the outcomes, making the changes as their fees are accepted; until every
    submission is answered, every change made and the agent has done what it must (or nothing comes)."""
    changes: asyncio.Queue[Any] = asyncio.Queue()
    outcomes = SYSTEM_FEE_OUTCOMES.of(CHAOS_SYSTEM).name
    reader = asyncio.create_task(read_outcomes(login, outcomes, workload, observed, changes))
    changers = [
        asyncio.create_task(change_fees(stack.services["registration"].url, changes, observed)) for _ in range(4)
    ]
    progress = asyncio.create_task(report_progress(workload, observed, agent, say))
    producer = producer_of(login)
    await producer.start()
    try:
        topic = SYSTEM_FEE_SUBMISSIONS.of(CHAOS_SYSTEM).name
        await send_all(producer, topic, workload, options.rate, observed, _last_tenth_after(agent, workload))
        while not _done(workload, observed, agent, options):
            if time.monotonic() - observed.last_outcome_at > options.stall_timeout or agent.failure is not None:
                say(f"no outcome for {options.stall_timeout:.0f}s: checking what there is")
                break
            await asyncio.sleep(0.5)
    finally:
        for _ in changers:
            changes.put_nowait(None)
        await asyncio.gather(*changers, return_exceptions=True)
        for task in (reader, progress):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await producer.stop()


def _last_tenth_after(agent: Agent, workload: Workload) -> Callable[[int], Awaitable[None]] | None:
    """For a rolling restart: the last tenth of the load trickles (one submission every 2 s) until every
    service has been restarted, so that the load goes on through the restarts however long they take."""
    if not agent.rolling:
        return None
    last_tenth = int(len(workload.submissions) * 0.9)

    async def hold(index: int) -> None:
        if index >= last_tenth:
            await asyncio.to_thread(agent.finished.wait, 2.0)

    return hold


def _done(workload: Workload, observed: Observed, agent: Agent, options: ChaosOptions) -> bool:
    return (
        (options.rolling or agent.kills >= options.min_kills)
        and len(observed.answered) == len(workload.submissions)
        and len(observed.changes) == observed.changes_queued
        and agent.infra_restarted.is_set()
        and agent.finished_rolling
    )


async def report_progress(workload: Workload, observed: Observed, agent: Agent, say: Say) -> None:
    began = time.monotonic()
    while True:
        await asyncio.sleep(5)
        kills = agent.kills
        others = ", ".join(f"{d.what} {d.target}" for d in agent.done if d.what != "kill")
        say(
            f"[{time.monotonic() - began:5.0f}s] sent {observed.sent}/{len(workload.submissions)}, "
            f"outcomes {len(observed.answered)}, changes {len(observed.changes)}/{observed.changes_queued}, "
            f"kills {kills}{'; ' + others if others else ''}"
        )


def kills_per_service(disturbances: list[Disturbance]) -> str:
    """How many kills of each service, and how long a killed service took to be ready again."""
    killed = _tally(d.target for d in disturbances if d.what == "kill")
    back = sorted(d.seconds for d in disturbances if d.what == "kill")
    if not back:
        return "none"
    per_service = ", ".join(f"{name} {count}" for name, count in sorted(killed.items()))
    return f"{per_service}; each ready again after {back[0]:.0f} to {back[-1]:.0f}s"


def report_lines(report: ChaosReport) -> list[str]:
    found = report.verdict
    restarts = [d for d in report.disturbances if d.what != "kill"]
    lines = [
        f"submissions {report.submissions} for {report.patients} patients ({report.meant_to_be_refused} meant to be "
        f"refused), corrections and deletions {report.corrections_and_deletions} ({report.changes}), "
        f"in {report.seconds:.0f}s",
        f"kills (SIGKILL) {report.kills()}: {kills_per_service(report.disturbances)}",
        *(f"{d.what} {d.target} at {d.at:.0f}s, back after {d.seconds:.1f}s" for d in restarts),
        f"services that failed their start-up (a server away) and were started again: {report.revived}",
        f"submissions sent again by the client (its producer gave up a try): {report.resent}",
        f"settled (outboxes empty, no consumer lag): {'yes' if report.settled else 'NO'}",
        f"outcomes missing {found.outcomes_missing}, duplicated {found.outcomes_duplicated}, "
        f"not as expected {found.wrong_outcomes} (records repeated with the same content: "
        f"{found.outcome_records_repeated})",
        f"fees registered other than once {found.fees_registered_twice}",
        f"ledger differences {found.ledger_differences} over {found.patients_checked} patients",
        f"notices {found.notices}, notice differences {found.notice_differences}",
        f"changes not held {found.change_differences}, dead letters {sum(found.dead_letters.values())}",
        f"longest pause between outcomes {found.longest_pause_s:.1f}s (from {report.pause_began_at:.0f}s)",
    ]
    lines += [f"DIFFERENCE {text}" for text in found.differences[:200]]
    if len(found.differences) > 200:
        lines.append(f"... and {len(found.differences) - 200} more differences")
    lines.append("OK" if report.ok else "FAILED")
    return lines
