"""What the chaos run does to its own stack while the load runs, in a thread of its own (starting and
stopping processes blocks): a random service SIGKILLed and started again every few seconds, the broker
restarted once and PostgreSQL once; or, for a rolling restart, each service in turn stopped with
SIGTERM, started again and waited for until ready."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from efrikort.chaos.stack import ChaosStack
from efrikort.services import ServiceProcess

BROKER_RESTART_AT = 0.3
"""The broker is restarted once this share of the submissions has been sent."""
POSTGRES_RESTART_AT = 0.6


@dataclass(frozen=True)
class Disturbance:
    at: float
    """Seconds since the run's load began."""
    what: str
    """`kill`, `restart` (SIGTERM, start, ready), `broker restart`, `postgres restart`, or `exited, started
    again` (a service that failed its start-up while a server was away)."""
    target: str
    seconds: float
    """How long the target was away: from the kill or stop until it was ready again."""


@dataclass(eq=False)
class Agent:
    stack: ChaosStack
    progress: Callable[[], float]
    """The share of the submissions sent so far."""
    began: float
    kill_every: float = 5.0
    seed: int = 0
    rolling: bool = False
    restart_infra: bool = True
    done: list[Disturbance] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    infra_restarted: threading.Event = field(default_factory=threading.Event)
    """Set once the broker and PostgreSQL have each been restarted (at once when there is nothing to restart)."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set when the agent has done all it does: the rolling restarts, or (chaos) when it is stopped."""
    failure: BaseException | None = None
    revived: int = 0
    """Times a service that exited by itself during a start was started again."""
    thread: threading.Thread | None = None

    def start(self) -> None:
        if self.rolling or not self.restart_infra:
            self.infra_restarted.set()
        self.thread = threading.Thread(target=self.run, name="efrikort-chaos", daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            self._rolling_restarts() if self.rolling else self._chaos()
        except BaseException as error:  # reported by the run, which then stops
            self.failure = error
            self.infra_restarted.set()
        finally:
            self.finished.set()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()

    def _chaos(self) -> None:
        rng = random.Random(self.seed)
        broker_done = postgres_done = not self.restart_infra
        while not self.stopping.wait(self.kill_every):
            self._revive_exited()
            if not broker_done and self.progress() >= BROKER_RESTART_AT:
                kafka = self.stack.infra.kafka
                self._restart_server("broker restart", "kafka", kafka.stop, kafka.start)
                broker_done = True
            elif not postgres_done and self.progress() >= POSTGRES_RESTART_AT:
                postgres = self.stack.infra.postgres
                self._restart_server("postgres restart", "postgresql", postgres.stop, postgres.start)
                postgres_done = True
                self.infra_restarted.set()
            else:
                self._kill(rng.choice(sorted(self.stack.services)))

    def _kill(self, name: str) -> None:
        """SIGKILL, start again, and wait until it is ready before the next kill is due: on a busy machine
        a service takes longer to start than the interval, and killing faster than they come back would
        leave nothing running to test."""
        process = self.stack.services[name]
        started = time.monotonic()
        process.kill()
        process.start()
        self._until_ready(process)
        self._record("kill", name, started)

    def _restart_server(self, what: str, target: str, stop: Callable[[], None], start: Callable[[], None]) -> None:
        """Stop the server (SIGTERM; PostgreSQL's fast shutdown ends every session), start it again, and wait
        until every service is ready once more."""
        started = time.monotonic()
        stop()
        start()
        self._record(what, target, started)
        for process in self.stack.services.values():
            self._until_ready(process)

    def _revive_exited(self) -> None:
        """As a supervisor (systemd, Kubernetes) does: a service that exited is started again. A service
        exits by itself when Kafka or PostgreSQL is away while it starts (it fails its start-up)."""
        for name, process in self.stack.services.items():
            if process.process is not None and process.process.poll() is not None:
                started = time.monotonic()
                process.start()
                self._until_ready(process)
                self._record("exited, started again", name, started)

    def _until_ready(self, process: ServiceProcess, timeout: float = 300) -> None:
        """Ready, starting it again whenever it exits on the way (its start-up failed)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                process.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
                return
            except RuntimeError:  # it exited: as a supervisor would, start it again
                self.revived += 1
                process.start()

    def _rolling_restarts(self) -> None:
        """Each service in turn, once the load has begun: SIGTERM, start, ready, then the next."""
        while self.progress() < 0.1:
            if self.stopping.wait(0.2):
                return
        for name in sorted(self.stack.services):
            if self.stopping.is_set():
                return
            process = self.stack.services[name]
            started = time.monotonic()
            process.stop()
            process.start()
            self._until_ready(process)
            self._record("restart", name, started)

    def _record(self, what: str, target: str, started: float) -> None:
        self.done.append(Disturbance(started - self.began, what, target, time.monotonic() - started))

    @property
    def kills(self) -> int:
        return sum(1 for d in self.done if d.what == "kill")

    @property
    def finished_rolling(self) -> bool:
        return not self.rolling or len(self.done) == len(self.stack.services) or self.failure is not None
