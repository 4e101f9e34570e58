"""A single-node KRaft Kafka broker run as a plain JVM process, without Docker.

The broker jars come from Maven Central (``deploy/kafka/pom.xml``) because that is the one
package source every dev machine and CI runner here can reach; they are resolved once into
``var/cache/kafka/<version>/lib`` and reused afterwards without invoking Maven.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import string
import subprocess
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from efrikort.infra import _proc
from efrikort.infra.credentials import ADMIN_USER, Credential, CredentialStore
from efrikort.infra.paths import repo_root as _default_repo_root
from efrikort.infra.paths import var_dir
from efrikort.infra.pki import BROKER_FILE, ensure_broker_pki

log = logging.getLogger(__name__)

# Must match <kafka.version> in deploy/kafka/pom.xml; it names the cache directory, so a
# version bump never reuses jars of the previous version.
KAFKA_VERSION = "4.1.1"

HOST = "127.0.0.1"

# Sized for a 2-core dev machine that also runs PostgreSQL and the services: a 512 MB heap is
# plenty for a broker holding test data; SerialGC avoids G1's background threads competing for
# the two cores; ExitOnOutOfMemoryError turns a wedged broker into a visible crash. Headless and
# UTF-8 make the JVM independent of the desktop session and locale it was started from.
# The JIT keeps its C2 compiler: every byte a client exchanges is AES-GCM under TLS, and only C2
# compiles that to the CPU's AES and carry-less multiply instructions. With C1 alone
# (-XX:TieredStopAtLevel=1, used here before for a start about 3.5 s faster) the broker
# ran the cipher in plain Java: 45 % of its sampled CPU at 200 submissions/s, 14 MB/s against 1.6 GB/s.
JVM_OPTIONS: tuple[str, ...] = (
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
)

HEAP_MB = 512
"""A single broker's heap; each node of a local cluster gets `CLUSTER_HEAP_MB` (three share the machine)."""
CLUSTER_HEAP_MB = 384

_MARKER_NAME = "resolved.json"


def _kafka_deploy_dir(repo_root: Path) -> Path:
    return repo_root / "deploy" / "kafka"


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _marker_valid(marker: Path, lib_dir: Path, pom_digest: str) -> bool:
    try:
        data = json.loads(marker.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    if data.get("pom_sha256") != pom_digest:
        return False
    jars = data.get("jars")
    return isinstance(jars, list) and bool(jars) and all((lib_dir / j).is_file() for j in jars)


def resolve_kafka_jars(repo_root: Path, cache_dir: Path | None = None) -> Path:
    """Return the directory holding the broker's runtime classpath, resolving it if needed.

    The first call runs Maven (``dependency:copy-dependencies``) into a scratch directory and
    moves it into place only when Maven succeeded, then writes a marker recording the pom's
    digest. Later calls see the marker and return at once: no Maven, no network. Editing the
    pom invalidates the marker.

    ``cache_dir`` defaults to ``<var>/cache/kafka``; the version is appended to it.
    """
    version_dir = (cache_dir or var_dir() / "cache" / "kafka") / KAFKA_VERSION
    lib_dir = version_dir / "lib"
    marker = version_dir / _MARKER_NAME
    pom = _kafka_deploy_dir(repo_root) / "pom.xml"
    digest = _pom_digest(pom)

    if _marker_valid(marker, lib_dir, digest):
        return lib_dir

    # Serialised across processes, e.g. two test sessions starting at once.
    with _proc.file_lock(version_dir / ".lock"):
        # Another process may have finished resolving while we waited for the lock.
        if _marker_valid(marker, lib_dir, digest):
            return lib_dir

        started = time.monotonic()
        staging = version_dir / "lib.partial"
        jars = _copy_jars_with_maven(repo_root, pom, staging)
        shutil.rmtree(lib_dir, ignore_errors=True)
        staging.rename(lib_dir)
        _write_marker(marker, digest, jars, time.monotonic() - started)
        log.info("resolved %d Kafka jars in %.1fs", len(jars), time.monotonic() - started)
        return lib_dir


def _copy_jars_with_maven(repo_root: Path, pom: Path, staging: Path) -> list[str]:
    """The broker's runtime classpath copied by Maven into `staging`; the jar names."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            "Apache Maven (mvn) is needed once to fetch the Kafka broker jars from Maven Central "
            "but is not on PATH; install it (e.g. `apt-get install maven`)."
        )
    shutil.rmtree(staging, ignore_errors=True)
    log.info("resolving Kafka %s jars with Maven into %s", KAFKA_VERSION, staging.parent / "lib")
    proc = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(
            f"Maven failed to resolve the Kafka jars (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    jars = sorted(p.name for p in staging.glob("*.jar"))
    if not any(j.startswith(f"kafka_2.13-{KAFKA_VERSION}") for j in jars):
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"Maven succeeded but {staging} holds no kafka_2.13-{KAFKA_VERSION} jar")
    return jars


def _write_marker(marker: Path, digest: str, jars: list[str], seconds: float) -> None:
    tmp_marker = marker.with_suffix(".tmp")
    tmp_marker.write_text(
        json.dumps(
            {"kafka_version": KAFKA_VERSION, "pom_sha256": digest, "resolved_seconds": round(seconds, 1), "jars": jars},
            indent=2,
        )
    )
    # Atomic: a crash never leaves a marker that vouches for a half-copied directory.
    tmp_marker.replace(marker)


def _random_cluster_id() -> str:
    """A cluster id in the form ``kafka-storage random-uuid`` prints (base64url, 22 chars)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # Kafka's Uuid.randomUuid() skips ids starting with '-' because command lines take them
        # for options; do the same.
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class Quorum:
    """The controllers of a local cluster of more than one node: every node is a broker and a controller,
    the voters fixed at format (`controller.quorum.voters`), the cluster id shared."""

    cluster_id: str
    voters: tuple[tuple[int, int], ...]
    """Each node's id and controller port."""

    @property
    def replication_factor(self) -> int:
        return min(3, len(self.voters))

    @property
    def min_insync_replicas(self) -> int:
        """2 of 3, as in production: one broker may fail and every write is still held twice."""
        return max(1, min(2, self.replication_factor - 1))

    def voters_property(self) -> str:
        return ",".join(f"{node}@{HOST}:{port}" for node, port in self.voters)


class KafkaServer:
    """One local KRaft broker+controller whose whole state lives in ``data_dir``: a single-node cluster,
    or, given a `quorum`, one node of a local cluster (`KafkaCluster`).

    Layout of ``data_dir``: ``server.properties`` (rendered each start), ``kraft/`` (log.dirs,
    formatted once), ``logs/`` (log4j2 output), ``kafka.out`` (JVM stdout/stderr),
    ``kafka.pid`` and ``format.json`` (cluster id and ports at format time, for diagnosis); and, unless
    a cluster's nodes share them in ``shared_dir``, ``pki/`` and ``credentials/``.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        *,
        repo_root: Path | None = None,
        cache_dir: Path | None = None,
        java: str | None = None,
        node_id: int = 1,
        quorum: Quorum | None = None,
        shared_dir: Path | None = None,
        heap_mb: int = HEAP_MB,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.repo_root = repo_root or _default_repo_root()
        self.cache_dir = cache_dir
        self.java = java or shutil.which("java") or "java"
        self.node_id = node_id
        self.quorum = quorum
        self.heap_mb = heap_mb
        shared = Path(shared_dir).resolve() if shared_dir is not None else self.data_dir

        self.properties_file = self.data_dir / "server.properties"
        self.log_dirs = self.data_dir / "kraft"
        self.logs_dir = self.data_dir / "logs"
        self.out_file = self.data_dir / "kafka.out"
        self.pid_file = self.data_dir / "kafka.pid"
        self.format_file = self.data_dir / "format.json"
        self.pki_dir = shared / "pki"
        self.credentials = CredentialStore(shared / "credentials")

    @property
    def ca_file(self) -> Path:
        """The CA every client checks the broker's certificate against."""
        return ensure_broker_pki(self.pki_dir)

    @property
    def admin(self) -> Credential:
        """The super user of the admin tooling; made with the cluster (at format)."""
        credential = self.credentials.get(ADMIN_USER)
        if credential is None:
            raise RuntimeError(f"no admin credential under {self.credentials.directory}: run efrikort infra reset")
        return credential

    def admin_options(self) -> dict[str, object]:
        """aiokafka keyword arguments for connecting as the admin user."""
        return client_options(self.admin, str(self.ca_file))

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 90) -> None:
        """Start the broker and return once it answers a metadata request.

        A no-op when this data dir's broker is already running and answering. Raises
        RuntimeError with the tail of the broker's output when it dies or does not become
        ready within ``timeout`` seconds. The first-time download of the jars is not counted:
        on a cold cache it alone can take longer than the broker's start.
        """
        # Two starts of the same data dir at once (two terminals, two test sessions) would race
        # on formatting and on the ports; the second one waits and then finds it running.
        with _proc.file_lock(self.data_dir / ".start.lock"):
            popen = self._launch_locked()
            self.wait_started(timeout, popen)

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Start the broker's JVM without waiting for it (a cluster's nodes answer only once a majority
        of them runs); None when it was running already. Then `wait_started`."""
        with _proc.file_lock(self.data_dir / ".start.lock"):
            return self._launch_locked()

    def wait_started(self, timeout: float = 90, popen: subprocess.Popen[bytes] | None = None) -> None:
        """Until the broker answers a metadata request; a broker that never does is stopped again."""
        try:
            self._wait_ready(time.monotonic() + timeout, popen=popen)
        except BaseException:
            # A broker that never became ready must not linger holding the ports.
            if popen is not None:
                self.stop()
            raise

    def _launch_locked(self) -> subprocess.Popen[bytes] | None:
        if self._process() is not None:
            running = self._configured_listeners()
            if running != self._listeners():
                # Waiting would only time out: the broker listens elsewhere.
                raise RuntimeError(
                    f"Kafka of {self.data_dir} is already running with {running!r}, not "
                    f"{self._listeners()!r}; stop it first (efrikort infra down)"
                )
            # Already running (possibly still starting, e.g. launched by another process): only waited for.
            return None
        self.pid_file.unlink(missing_ok=True)

        self._check_ports_free()

        lib_dir = resolve_kafka_jars(self.repo_root, self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        self._check_made_secured()
        self._write_properties()
        classpath = f"{lib_dir}/*"
        self._format_storage_once(classpath)

        cmd = [
            self.java,
            f"-Xms{min(256, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={_kafka_deploy_dir(self.repo_root) / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(self.properties_file),
        ]
        log.info("starting Kafka: %s", " ".join(cmd))
        with self.out_file.open("ab") as out:
            out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Kafka ====\n".encode())
            out.flush()
            # Own session: the broker survives the CLI that started it and does not get the
            # terminal's Ctrl-C; stop() signals the whole group.
            proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc

    def stop(self, timeout: float = 30) -> None:
        """Stop the broker: SIGTERM (clean controlled shutdown), SIGKILL after ``timeout``."""
        proc = self._process()
        if proc is not None:
            _proc.terminate_group(proc.pid, timeout)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash or a pulled plug would: no controlled shutdown."""
        proc = self._process()
        if proc is not None:
            proc.kill()
            _proc.wait_gone([proc], timeout=10)
            _proc.live_process(proc.pid)  # reaps it if it is our child
        self.pid_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        """Whether the pid file names a live broker process of this data dir."""
        return self._process() is not None

    # ------------------------------------------------------------------ internals

    def _process(self) -> psutil.Process | None:
        proc = _proc.live_process(_proc.read_pid(self.pid_file))
        if proc is None:
            return None
        # Guard against pid reuse: only our JVM has our properties file on its command line.
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            return None
        if "kafka.Kafka" not in cmdline or str(self.properties_file) not in cmdline:
            return None
        return proc

    def _listeners(self) -> str:
        return f"SASL_SSL://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}"

    def _configured_listeners(self) -> str | None:
        """The ``listeners`` of the rendered properties, i.e. what the running broker uses."""
        try:
            lines = self.properties_file.read_text().splitlines()
        except FileNotFoundError:
            return None
        for line in lines:
            key, sep, value = line.partition("=")
            if sep and key.strip() == "listeners":
                return value.strip()
        return None

    def _check_ports_free(self) -> None:
        for p in (self.port, self.controller_port):
            if not _proc.port_is_free(HOST, p):
                raise RuntimeError(
                    f"cannot start Kafka in {self.data_dir}: port {HOST}:{p} is already in use by another "
                    "process (another broker? set EFRIKORT_KAFKA_PORT or stop it)"
                )

    def _check_made_secured(self) -> None:
        """Data formatted before Kafka was secured has no admin user: say how to start afresh."""
        if (self.log_dirs / "meta.properties").exists() and self.credentials.get(ADMIN_USER) is None:
            raise RuntimeError(
                f"the Kafka data in {self.data_dir} was made before Kafka was secured (no SCRAM admin user); "
                "run ./efrikort infra reset"
            )

    def _write_properties(self) -> None:
        template = (_kafka_deploy_dir(self.repo_root) / "server.properties.template").read_text()
        ca_file = self.ca_file
        admin = self.credentials.get_or_create(ADMIN_USER)
        rendered = string.Template(template).substitute(
            port=self.port,
            controller_port=self.controller_port,
            log_dirs=str(self.log_dirs),
            ca_pem=str(ca_file),
            broker_pem=str(self.pki_dir / BROKER_FILE),
            admin_user=admin.username,
            admin_password=admin.password,
            node_id=self.node_id,
            quorum=(
                f"controller.quorum.voters={self.quorum.voters_property()}"
                if self.quorum
                else f"controller.quorum.bootstrap.servers={HOST}:{self.controller_port}"
            ),
            replication_factor=self.quorum.replication_factor if self.quorum else 1,
            min_insync_replicas=self.quorum.min_insync_replicas if self.quorum else 1,
            internal_partitions=len(self.quorum.voters) if self.quorum else 1,
        )
        # It holds the admin password (the broker's own login): the owner alone may read it.
        self.properties_file.touch(mode=0o600)
        os.chmod(self.properties_file, 0o600)
        self.properties_file.write_text(rendered)

    def _format_storage_once(self, classpath: str) -> None:
        """Format log.dirs as a fresh single-voter KRaft cluster, unless already formatted.

        The ports may differ from the ones used at format time: on start the sole voter, being
        the leader, records its current controller endpoint in the voter set itself (KIP-853),
        which was verified to work with 4.1.1.
        """
        if (self.log_dirs / "meta.properties").exists():
            return

        # A half-formatted directory (crash during format) is useless: start over.
        shutil.rmtree(self.log_dirs, ignore_errors=True)
        cluster_id = self.quorum.cluster_id if self.quorum else _random_cluster_id()
        # A cluster's voters are in its properties; a single node writes itself as the sole voter.
        standalone = [] if self.quorum else ["--standalone"]
        cmd = [
            self.java,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_kafka_deploy_dir(self.repo_root) / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            *standalone,
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.properties_file),
            # The super user exists from the first moment: every other principal is made through it.
            "--add-scram",
            f"SCRAM-SHA-512=[name={self.admin.username},password={self.admin.password}]",
        ]
        result = subprocess.run(
            cmd, cwd=self.data_dir, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"formatting Kafka storage in {self.log_dirs} failed (exit {result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        self.format_file.write_text(
            json.dumps(
                {"cluster_id": cluster_id, "port": self.port, "controller_port": self.controller_port},
                indent=2,
            )
        )

    def _wait_ready(self, deadline: float, popen: subprocess.Popen[bytes] | None = None) -> None:
        while True:
            if popen is not None and popen.poll() is not None:
                raise RuntimeError(
                    f"Kafka exited with code {popen.returncode} during startup; last output of "
                    f"{self.out_file}:\n{_proc.tail(self.out_file)}"
                )
            if popen is None and self._process() is None:
                raise RuntimeError(
                    f"Kafka process of {self.data_dir} disappeared; last output:\n{_proc.tail(self.out_file)}"
                )
            # Plain TCP first: cheap, and spares us aiokafka's connection-error logging while the
            # JVM is still booting.
            if _proc.port_accepts(HOST, self.port) and _proc.run_coroutine_blocking(
                kafka_answers(self.bootstrap_servers, self.admin_options())
            ):
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"Kafka on {self.bootstrap_servers} did not answer a metadata request in time; last "
                    f"output of {self.out_file}:\n{_proc.tail(self.out_file)}\n--- {self.logs_dir}/server.log:\n"
                    f"{_proc.tail(self.logs_dir / 'server.log', 20)}"
                )
            time.sleep(0.25)


CLUSTER_FILE = "cluster.json"
"""Under a local cluster's directory: how many nodes it was made with, and its id."""


def recorded_brokers(data_dir: Path) -> int | None:
    """How many brokers the Kafka data under `data_dir` was made for; None when there is none yet."""
    try:
        return int(json.loads((data_dir / CLUSTER_FILE).read_text())["brokers"])
    except FileNotFoundError:
        return 1 if (data_dir / "kraft" / "meta.properties").exists() else None


class KafkaCluster:
    """The local Kafka: one node (the default, laid out in `data_dir` itself as it always was) or several
    (`node-<id>/` each), every node a broker and a controller with its own ports, data directory and
    SASL_SSL listener; a cluster's nodes share the CA, the broker certificate (all on 127.0.0.1) and the
    credential store in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        ports: Sequence[tuple[int, int]],
        *,
        repo_root: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        if len(ports) == 1:
            self.nodes = [KafkaServer(self.data_dir, *ports[0], repo_root=repo_root, cache_dir=cache_dir)]
            return
        quorum = Quorum(self._cluster_id(), tuple((node, controller) for node, (_, controller) in enumerate(ports, 1)))
        self.nodes = [
            KafkaServer(
                self.data_dir / f"node-{node}",
                port,
                controller,
                node_id=node,
                quorum=quorum,
                shared_dir=self.data_dir,
                heap_mb=CLUSTER_HEAP_MB,
                repo_root=repo_root,
                cache_dir=cache_dir,
            )
            for node, (port, controller) in enumerate(ports, 1)
        ]

    def _cluster_id(self) -> str:
        try:
            return str(json.loads((self.data_dir / CLUSTER_FILE).read_text())["cluster_id"])
        except FileNotFoundError:
            return _random_cluster_id()

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    @property
    def ca_file(self) -> Path:
        return self.nodes[0].ca_file

    @property
    def admin(self) -> Credential:
        return self.nodes[0].admin

    @property
    def credentials(self) -> CredentialStore:
        return self.nodes[0].credentials

    @property
    def replication_factor(self) -> int:
        quorum = self.nodes[0].quorum
        return quorum.replication_factor if quorum else 1

    def admin_options(self) -> dict[str, object]:
        return self.nodes[0].admin_options()

    def start(self, timeout: float = 120) -> None:
        """Start every node that is not running, then wait until each answers; a node answers only once a
        majority of the controllers runs, so they are all launched first. What this call launched is
        stopped again when one fails."""
        recorded = recorded_brokers(self.data_dir)
        if recorded not in (None, len(self.nodes)):
            raise RuntimeError(
                f"the Kafka data in {self.data_dir} was made for {recorded} broker(s), not {len(self.nodes)}: "
                "run ./efrikort infra reset to start afresh with the new size"
            )
        if len(self.nodes) > 1:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            quorum = self.nodes[0].quorum
            assert quorum is not None
            (self.data_dir / CLUSTER_FILE).write_text(
                json.dumps({"brokers": len(self.nodes), "cluster_id": quorum.cluster_id})
            )
        self.ca_file  # noqa: B018 - the shared CA made once, before the nodes would race to make it
        self.credentials.get_or_create(ADMIN_USER)
        launched: list[KafkaServer] = []
        try:
            popens = []
            for node in self.nodes:
                popens.append(popen := node.launch())
                if popen is not None:
                    launched.append(node)
            deadline = time.monotonic() + timeout
            for node, popen in zip(self.nodes, popens, strict=True):
                node.wait_started(max(1.0, deadline - time.monotonic()), popen)
        except BaseException:
            for node in launched:
                with contextlib.suppress(Exception):
                    node.stop()
            raise

    def stop(self, timeout: float = 30) -> None:
        """Every node at once: one by one, the last would wait for a quorum that is gone."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for future in [pool.submit(node.stop, timeout) for node in self.nodes]:
                future.result()

    def is_running(self) -> bool:
        return any(node.is_running() for node in self.nodes)


def client_options(credential: Credential, ca_file: str) -> dict[str, object]:
    """aiokafka keyword arguments for `credential` over TLS checked against `ca_file`."""
    from runtime.kafka import tls_context

    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": credential.username,
        "sasl_plain_password": credential.password,
        "ssl_context": tls_context(ca_file),
    }


async def kafka_answers(
    bootstrap_servers: str, options: dict[str, object] | None = None, timeout_ms: int = 5000
) -> bool:
    """Whether a broker at ``bootstrap_servers`` answers a metadata request listing a broker.

    A connection alone is not enough: the KRaft broker opens its port before it has caught up
    with the metadata log and registered itself, and until then it cannot serve clients.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=timeout_ms,
        client_id="efrikort-infra-probe",
        **(options or {}),
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


__all__ = ["KAFKA_VERSION", "KafkaCluster", "KafkaServer", "client_options", "kafka_answers", "resolve_kafka_jars"]
