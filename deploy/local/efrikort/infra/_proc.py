"""Process and socket helpers shared by the Kafka and PostgreSQL launchers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import os
import signal
import socket
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil

T = TypeVar("T")


def run_coroutine_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, on a private loop in a worker thread.

    The launchers are synchronous (CLI, pytest fixtures) but their readiness probes use the
    async clients the services use. A worker thread works whether or not the caller's thread
    already runs a loop (async tests), and unlike ``asyncio.run`` in the caller's thread it
    leaves that thread's current-loop setting alone, which pytest-asyncio relies on.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="efrikort-probe") as pool:
        return pool.submit(asyncio.run, coro).result()


@contextlib.contextmanager
def file_lock(lock_file: Path) -> Iterator[None]:
    """Exclusive advisory lock across processes, released on exit (or when the process dies)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_is_free(host: str, port: int) -> bool:
    """Whether host:port could be bound right now.

    SO_REUSEADDR mirrors what the servers do, so sockets lingering in TIME_WAIT from a
    previous run do not count as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel considers free now (it may of course be taken again later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(data.splitlines()[-lines:])


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text.splitlines()[0])
    except (ValueError, IndexError):
        return None


def live_process(pid: int | None) -> psutil.Process | None:
    """The process with this pid if it exists and is not a zombie."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            # Our own child that exited but was not reaped yet: reap it so it disappears.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return None
        return proc
    except psutil.NoSuchProcess:
        return None


def _gone(proc: psutil.Process) -> bool:
    try:
        # A zombie has exited; it only waits for its parent (often init, which reaps lazily)
        # to collect its exit status.
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; return those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    alive = [p for p in processes if not _gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _gone(p)]
    return alive


def terminate_group(pid: int, timeout: float) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL whatever is left after ``timeout``.

    The servers are started with start_new_session=True, so their pgid equals their pid and the
    group holds exactly the server and anything it forked.
    """
    try:
        leads_group = os.getpgid(pid) == pid
    except ProcessLookupError:
        return
    # Not a group leader (should not happen for processes we spawned): then only the process
    # itself is signalled, never a group that might contain unrelated processes, such as ours.
    pgid: int | None = pid if leads_group else None

    def group_members() -> list[psutil.Process]:
        if pgid is None:
            proc = live_process(pid)
            return [proc] if proc else []
        members = []
        for proc in psutil.process_iter(["pid"]):
            # Processes come and go while we iterate: one that vanished in between raises
            # ProcessLookupError from getpgid, or NoSuchProcess from psutil.
            with contextlib.suppress(psutil.Error, OSError):
                if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                    members.append(proc)
        return members

    def signal_all(sig: signal.Signals) -> None:
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live_process(pid)  # reaps it if it is our child
        if not group_members():
            return
        time.sleep(0.1)
    signal_all(signal.SIGKILL)
    wait_gone(group_members(), timeout=5)
    live_process(pid)
