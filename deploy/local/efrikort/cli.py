"""`efrikort`: the one command-line entry for people running e-frikort."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from efrikort.infra.kafka import resolve_kafka_jars
from efrikort.infra.paths import repo_root, var_dir
from efrikort.infra.stack import InfraEndpoints, LocalInfra
from efrikort.kafka_principals import provision_services_blocking
from efrikort.observe import PROMETHEUS_PORT, PrometheusMissing, PrometheusProcess
from efrikort.services import DESK, DESK_PORT, DEVELOPMENT_IDENTITY_ENV, SERVICE_PORTS, ServiceProcess, desk_env
from runtime.settings import DEVELOPMENT_ENV, DEVELOPMENT_MODE_ENV

if TYPE_CHECKING:
    from efrikort.bench import BenchResult
    from efrikort.credentials import ClientFiles

SAMPLE_DIRECTORY = Path("deploy/local/directory/sample-directory.json")
"""Units, employees, roles, agreements and systems to try the system with: the example fee's actors among them."""


def import_directory(path: Path, env: dict[str, str] | None = None) -> int:
    """Load a directory export into access's mirror (with access's own database settings)."""
    return subprocess.call([sys.executable, "-m", "access.importer", str(path)], env={**os.environ, **(env or {})})


def cmd_up(args: argparse.Namespace) -> int:
    """Kafka, PostgreSQL and every service, until Ctrl-C."""
    started = time.monotonic()
    infra = LocalInfra(brokers=args.brokers)
    print("starting Kafka and PostgreSQL ...", flush=True)
    endpoints = infra.up()
    # A developer's stack: the repository's published secrets are accepted (and warned about).
    env = {**endpoints.as_env(), **DEVELOPMENT_ENV}
    print("giving each service its Kafka principal and ACLs ...", flush=True)
    provision_services_blocking(endpoints)
    processes = service_replicas(endpoints, args.replicas, args.http_port_base)
    desk = _desk_process(processes, args.http_port_base, var_dir() / "logs")
    prometheus = PrometheusProcess(var_dir() / "prometheus", args.prometheus_port) if args.observe else None
    _stop_on_sigterm()
    code = 0
    logins: dict[str, ClientFiles] = {}
    try:
        _start_services(processes, args.timeout)
        processes.append(desk)
        _start_services([desk], args.timeout)
        if prometheus is not None:
            _start_prometheus(prometheus, processes)
        if not args.no_sample_directory:
            print(f"loading the sample directory {SAMPLE_DIRECTORY} into access ...", flush=True)
            if import_directory(repo_root() / SAMPLE_DIRECTORY, env) != 0:
                raise RuntimeError("the sample directory could not be imported")
            logins = asyncio.run(_issue_sample_logins(endpoints))
        _print_where_to_look(endpoints, processes, time.monotonic() - started)
        if prometheus is not None:
            print(f"  {'Prometheus':<15} {prometheus.url}/targets  (alerts: /alerts)  log: {prometheus.log_path}")
        _print_sample_logins(logins)
        code = _watch(processes)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as error:
        print(f"e-frikort did not come up: {error}", file=sys.stderr)
        code = 1
    finally:
        if prometheus is not None:
            prometheus.stop()
        _stop_everything(processes, infra, keep_infra=args.keep_infra)
    return code


def _desk_process(services: list[ServiceProcess], http_port_base: int, logs: Path) -> ServiceProcess:
    """The desk, calling the services where they listen; after them on the ports when a base is given."""
    port = http_port_base + len(SERVICE_PORTS) + 1 if http_port_base else DESK_PORT
    env = {**desk_env({p.name: p for p in services}), **DEVELOPMENT_ENV}
    return ServiceProcess(DESK, port, env, logs / f"{DESK}.log")


def _start_prometheus(prometheus: PrometheusProcess, services: list[ServiceProcess]) -> None:
    """Prometheus scraping every service `efrikort up` started, with the alert rules loaded."""
    print("starting Prometheus ...", flush=True)
    try:
        prometheus.start(services)
    except PrometheusMissing as missing:
        raise RuntimeError(str(missing)) from None
    prometheus.wait_ready()


REPLICA_PORT_STEP = 10
"""Replica r (from 0) of a service listens on its port + 10r: 8081, 8091, 8101 for registration."""


def service_replicas(endpoints: InfraEndpoints, replicas: int, http_port_base: int = 0) -> list[ServiceProcess]:
    """`replicas` processes of every service, each its own HTTP port and log, the replicas of a service
    members of its consumer groups (they share the partitions)."""
    logs = var_dir() / "logs"
    ports = {name: http_port_base + i for i, name in enumerate(SERVICE_PORTS, 1)} if http_port_base else SERVICE_PORTS
    return [
        ServiceProcess(
            name,
            ports[name] + REPLICA_PORT_STEP * replica,
            # The desk calls the services as the person signed in to it, named in the development identity header.
            {**endpoints.service_env(name), **DEVELOPMENT_ENV, DEVELOPMENT_IDENTITY_ENV: "true"},
            logs / (f"{name}.log" if replica == 0 else f"{name}-{replica + 1}.log"),
        )
        for replica in range(replicas)
        for name in SERVICE_PORTS
    ]


def _stop_on_sigterm() -> None:
    """SIGTERM stops the stack the same way Ctrl-C does, at whatever point it arrives; SIGINT is set
    explicitly because a shell starting us in the background would have it ignored."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


def _start_services(processes: list[ServiceProcess], timeout: float) -> None:
    for process in processes:
        process.start()
    for process in processes:
        process.wait_ready(timeout=timeout)


def _print_where_to_look(endpoints: InfraEndpoints, processes: list[ServiceProcess], elapsed: float) -> None:
    print(f"\ne-frikort is up ({elapsed:.1f}s). Press Ctrl-C to stop everything.\n")
    print(f"  {'Kafka':<15} {endpoints.kafka_bootstrap_servers}  (SASL_SSL; CA {endpoints.kafka_ca_file})")
    if (replication := endpoints.topic_replication_factor) > 1:
        print(f"  {'':<15} every topic on {replication} brokers, min.insync.replicas=2")
    print(f"  {'PostgreSQL':<15} {endpoints.database_url}")
    for process in processes:
        if process.name == DESK:
            continue
        print(f"  {process.name:<15} {process.url}  (/ready, /metrics, /docs)  log: {process.log_path}")
    for process in processes:
        if process.name == DESK:
            print(f"  {'desk':<15} {process.url}/  (the web application: sign in as anyone of the sample directory)")
    print("\n  send a fee:     ./efrikort send-example-fee")
    sys.stdout.flush()


async def _issue_sample_logins(endpoints: InfraEndpoints) -> dict[str, ClientFiles]:
    """A Kafka login for each integrated system of the sample directory, as an operator would issue it."""
    from efrikort import credentials

    systems = json.loads((repo_root() / SAMPLE_DIRECTORY).read_text())["integrated_systems"]
    return {
        system["hsa_id"]: await credentials.issue(endpoints, system["hsa_id"], keep_password=True) for system in systems
    }


def _print_sample_logins(logins: dict[str, ClientFiles]) -> None:
    if not logins:
        return
    print("  Kafka logins of the sample's integrated systems (Java client properties; kcat -F <file>.kcat.conf):")
    for system_id, files in logins.items():
        print(f"    {system_id:<20} {files.properties}")
    sys.stdout.flush()


def _watch(processes: list[ServiceProcess]) -> int:
    """Until a service exits (then 1) or Ctrl-C."""
    while not (exited := [p for p in processes if p.process is not None and p.process.poll() is not None]):
        time.sleep(0.5)
    for process in exited:
        print(f"{process.name} exited with {process.process.returncode}; see {process.log_path}")  # type: ignore[union-attr]
    return 1


def _stop_everything(processes: list[ServiceProcess], infra: LocalInfra, *, keep_infra: bool) -> None:
    # A second Ctrl-C must not cut the clean-up short and leave processes behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("\nstopping services ...", flush=True)
    for process in processes:
        process.stop()
    if not keep_infra:
        print("stopping Kafka and PostgreSQL ...", flush=True)
        infra.down()
    print("stopped", flush=True)


def cmd_service(args: argparse.Namespace) -> int:
    """One service in this process, against the Kafka and PostgreSQL the environment names; with none
    named, against the local ones (`efrikort infra up`), logged in to Kafka as the service's own principal.
    The desk needs neither: it calls the services at the URLs its settings name (by default `efrikort up`'s)."""
    env = dict(os.environ)
    if args.name == DESK:
        env.setdefault(DEVELOPMENT_MODE_ENV, "true")
        os.execve(sys.executable, [sys.executable, "-m", DESK], env)
    if not env.get("KAFKA_BOOTSTRAP_SERVERS") and not env.get("EFRIKORT_KAFKA_SASL_USERNAME"):
        env |= LocalInfra().endpoints.service_env(args.name)
        # The local stack is a developer's: development mode unless the caller said otherwise.
        env.setdefault(DEVELOPMENT_MODE_ENV, "true")
    os.execve(sys.executable, [sys.executable, "-m", args.name], env)


def cmd_infra(args: argparse.Namespace) -> int:
    infra = LocalInfra(brokers=args.brokers)
    if args.action == "up":
        endpoints = infra.up()
        provision_services_blocking(endpoints)
        print(f"KAFKA_BOOTSTRAP_SERVERS={endpoints.kafka_bootstrap_servers}")
        if endpoints.topic_replication_factor > 1:
            print(f"EFRIKORT_TOPIC_REPLICATION_FACTOR={endpoints.topic_replication_factor}")
        print(f"DATABASE_URL={endpoints.database_url}")
        print(f"EFRIKORT_KAFKA_SSL_CA_FILE={endpoints.kafka_ca_file}")
        if endpoints.kafka_credentials is not None:
            print(f"# each principal's Kafka login: {endpoints.kafka_credentials.directory}/<name>.json")
            print("# ./efrikort service <name> logs in as that service by itself")
    elif args.action == "down":
        infra.down()
        print("Kafka and PostgreSQL stopped")
    elif args.action == "status":
        for server, state in infra.status().items():
            print(f"{server:<10} {'running' if state is True else 'stopped' if state is False else state}")
    elif args.action == "reset":
        infra.reset()
        print(f"stopped, and the data under {var_dir() / 'data'} wiped")
    return 0


HEAVY_OPTION = "--heavy"
"""`efrikort test --heavy`: the heavy tier too (chaos, three brokers, replicas, containers, up --observe)."""
HEAVY_TESTS_ENV = "EFRIKORT_HEAVY_TESTS"


def cmd_test(args: argparse.Namespace) -> int:
    """Every check: lint, types, the generated contract documents, then all tests against real servers."""
    root = repo_root()
    packages = ["contracts", "runtime", "efrikort", *SERVICE_PORTS, DESK]
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", *(arg for package in packages for arg in ("-p", package))],
        [sys.executable, "-m", "contracts.generate", "--check"],
        [sys.executable, "-m", "pytest", *(args.pytest_args or ["tests"])],
    ]
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        # A first download from Maven Central can take minutes; done here, it does not count
        # against the timeout of whichever test happens to start Kafka first.
        print("$ resolve the Kafka jars (downloads once into var/cache)", flush=True)
        resolve_kafka_jars(root)
    # The heavy tier (tests marked `heavy`, skipped by tests/conftest.py unless this is set).
    env = {**os.environ, HEAVY_TESTS_ENV: "1"} if args.heavy else None
    for step in steps:
        print("$", " ".join(step), flush=True)
        tool = step[0] if step[0] == sys.executable else str(Path(sys.executable).with_name(step[0]))
        code = subprocess.call([tool, *step[1:]], cwd=root, env=env)
        if code != 0:
            return code
    return 0


def cmd_import_directory(args: argparse.Namespace) -> int:
    """A directory export file into access: full exports end whatever they lack."""
    return import_directory(Path(args.file))


def cmd_topology(args: argparse.Namespace) -> int:
    """Which service consumes and produces which topic, from the services' own declarations."""
    from efrikort.topology import markdown_table, topology

    print(markdown_table(topology()))
    return 0


def cmd_helm_values(args: argparse.Namespace) -> int:
    """The Helm chart's topics, ACLs and consumer groups, from the services' declarations."""
    from efrikort import helm_values

    target = repo_root() / helm_values.TOPOLOGY_FILE
    if args.check:
        if target.is_file() and target.read_text() == helm_values.rendered():
            return 0
        print(f"{target} is stale: run ./efrikort helm-values", file=sys.stderr)
        return 1
    print(f"wrote {helm_values.write(target)}")
    return 0


def cmd_containers(args: argparse.Namespace) -> int:
    """Every service in a container of the one image (podman), on the local Kafka and PostgreSQL."""
    from efrikort import containers

    if args.action == "down":
        containers.down(var_dir() / "containers" / "pod.yaml")
        print("the e-frikort pod is stopped; Kafka and PostgreSQL keep running (efrikort infra down)")
        return 0
    if why := containers.podman_runs_containers():
        print(why, file=sys.stderr)
        return 1
    endpoints = LocalInfra().up()
    provision_services_blocking(endpoints)
    ports = {**SERVICE_PORTS, DESK: DESK_PORT}
    containers.play(*containers.write_pod(endpoints, ports))
    processes = [ServiceProcess(name, port, {}, Path("/dev/null")) for name, port in ports.items()]
    for process in processes:
        process.wait_ready(timeout=args.timeout)
    if import_directory(repo_root() / SAMPLE_DIRECTORY, {**endpoints.as_env(), **DEVELOPMENT_ENV}) != 0:
        return 1
    for process in processes:
        print(f"  {process.name:<15} {process.url}  (podman logs efrikort-{process.name})")
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    """An integrated system's Kafka login: issue (or rotate: the same, the old password stops working) or revoke."""
    from efrikort import credentials

    endpoints = LocalInfra().endpoints
    if args.action == "revoke":
        asyncio.run(credentials.revoke(endpoints, args.system_id))
        print(f"{args.system_id} can no longer log in to Kafka; its client files are removed")
        return 0
    files = asyncio.run(credentials.issue(endpoints, args.system_id))
    print(f"{args.system_id}: Kafka login {'rotated' if args.action == 'rotate' else 'issued'}")
    print(f"  Java client properties  {files.properties}")
    print(f"  kcat configuration      {files.kcat}")
    return 0


def cmd_statements(args: argparse.Namespace) -> int:
    """The statements that cost PostgreSQL the most time, by role (service); or forget them all."""
    from efrikort import statements

    database_url = LocalInfra().endpoints.database_url
    try:
        if args.reset:
            asyncio.run(statements.reset(database_url))
            print("statement statistics reset: the next reading covers only what runs from now")
            return 0
        costs = asyncio.run(statements.top(database_url, args.top))
    except statements.NotLoaded as error:
        print(f"efrikort statements: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"efrikort statements: PostgreSQL does not answer ({error}); is it up? (efrikort infra up)", file=sys.stderr
        )
        return 1
    print(statements.HEADER)
    for cost in costs:
        print(cost.line())
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    """The dead-letter topics: list them (or one's dead letters), show one, replay one or all."""
    endpoints = LocalInfra().endpoints
    try:
        if args.action == "list":
            return _dlq_list(endpoints, args.topic)
        if args.topic is None:
            print(f"efrikort dlq {args.action} needs a dead-letter topic", file=sys.stderr)
            return 2
        wanted = _coordinates(args.where) if args.where else None
        if args.action == "show":
            if wanted is None:
                print("efrikort dlq show needs PARTITION:OFFSET (efrikort dlq list TOPIC lists them)", file=sys.stderr)
                return 2
            return _dlq_show(endpoints, args.topic, wanted, with_value=args.value)
        if wanted is None and not args.all:
            print("efrikort dlq replay needs PARTITION:OFFSET, or --all", file=sys.stderr)
            return 2
        return _dlq_replay(endpoints, args.topic, wanted)
    except ValueError as error:
        print(f"efrikort dlq: {error}", file=sys.stderr)
        return 2


def _coordinates(text: str) -> tuple[int, int]:
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise ValueError(f"{text!r} is not PARTITION:OFFSET, e.g. 0:17")
    return int(partition), int(offset)


def _dlq_list(endpoints: InfraEndpoints, topic: str | None) -> int:
    from efrikort import dead_letters

    if topic is None:
        print(f"{'dead letters':>12} {'replayed':>8}  topic")
        for count in asyncio.run(dead_letters.counts(endpoints)):
            print(f"{count.dead_letters:>12} {count.replayed:>8}  {count.topic}")
        return 0
    for letter in asyncio.run(dead_letters.read(endpoints, topic)):
        about = letter.about
        print(
            f"{letter.partition}:{letter.offset}  {about.get('dlq_failed_at', '?')}  {about.get('dlq_error_type', '?')}"
            f"  from {about.get('dlq_original_topic', '?')}/{about.get('dlq_original_partition', '?')}"
            f"/{about.get('dlq_original_offset', '?')}{'  TRUNCATED' if letter.truncated else ''}"
        )
    return 0


def _dlq_show(endpoints: InfraEndpoints, topic: str, wanted: tuple[int, int], *, with_value: bool) -> int:
    from efrikort import dead_letters

    if with_value:
        print(dead_letters.VALUE_WARNING, file=sys.stderr)
    for letter in asyncio.run(dead_letters.read(endpoints, topic, wanted)):
        print("\n".join(dead_letters.describe(letter, with_value=with_value)))
    return 0


def _dlq_replay(endpoints: InfraEndpoints, topic: str, wanted: tuple[int, int] | None) -> int:
    from efrikort import dead_letters

    letters = asyncio.run(dead_letters.read(endpoints, topic, wanted))
    results = asyncio.run(dead_letters.replay(endpoints, letters))
    for result in results:
        print(f"{result.dead_letter.coordinates}: {result.outcome.replace('_', ' ')} {result.detail}".rstrip())
    refused = [r for r in results if r.outcome in ("truncated", "no_original_topic")]
    # Asked for one and it could not be: an error. Asked for all: the others went, the refused are listed.
    return 1 if refused and wanted is not None else 0


def cmd_send_example_fee(args: argparse.Namespace) -> int:
    from efrikort.credentials import files_of
    from efrikort.example import SystemLogin, send_example_fee

    kcat = Path(args.login) if args.login else files_of(args.system).kcat
    if not kcat.is_file():
        print(f"no Kafka login for {args.system} at {kcat}: run ./efrikort up (or: ./efrikort credentials issue)")
        return 1
    submission = json.loads(Path(args.file).read_text()) if args.file else None
    return asyncio.run(send_example_fee(SystemLogin.from_kcat_file(kcat), submission))


def _report_runs(results: list[BenchResult], what: str) -> None:
    """The medians over the runs: of throughput, and of each run's p50 and p99."""
    from efrikort.bench_report import Run, medians, medians_line

    print(medians_line(medians([Run(result, None) for result in results], what, None)))


def _timed_runs(args: argparse.Namespace, run: Callable[[int, int], BenchResult]) -> list[BenchResult]:
    """`run(count, seed)` once as a warm-up that is not reported (new topics, cold caches), then
    `args.runs` times."""
    if args.warmup:
        print(f"warm-up: {args.warmup} not counted", flush=True)
        run(args.warmup, 0)
    results = []
    for seed in range(1, args.runs + 1):
        results.append(run(args.count, seed))
        print(f"run {seed}: {results[-1].report()}", flush=True)
    return results


def cmd_bench(args: argparse.Namespace) -> int:
    """Load on a running stack; per run the figure and the raw Kafka floor beside it, then the medians.
    With `--curve`, the same at each offered rate, drawn as a PNG."""
    from efrikort.bench import admit_bench_actors
    from efrikort.bench_report import draw_curve, write_json

    asyncio.run(admit_bench_actors(args.bootstrap))
    rates = [float(rate) for rate in args.curve.split(",")] if args.curve else [args.rate]
    # A pool of its own for every invocation: on a long-lived stack, one pool drawn again would
    # gather fees, reach the ceiling and send notices, and each bench would measure more of that.
    first_seed = random.randrange(1_000_000_000) if args.patient_seed is None else args.patient_seed
    print(f"patients drawn with --patient-seed {first_seed}", flush=True)
    draws = itertools.count(first_seed)
    points = [_bench_at(args, rate, draws) for rate in rates]
    if args.curve:
        what = "POST /v1/fees until the amount due" if args.http else f"submission to {args.stage}"
        draw_curve(points, Path(args.png), f"{what}: latency against offered rate")
        print(f"curve drawn: {args.png}")
    if args.json:
        write_json(args.json, points if args.curve else points[0])
    return 0


def _bench_at(args: argparse.Namespace, rate: float | None, draws: Iterator[int]) -> dict[str, object]:
    """Warm-up, then `args.runs` runs at `rate`, each after the floor at the same rate; their medians.
    Each run (and the warm-up) draws its patients and fees with the next seed of `draws`."""
    from efrikort.bench import run_bench, run_http_latency
    from efrikort.bench_floor import run_floor
    from efrikort.bench_report import Run, medians, medians_line, run_line

    def figure(count: int) -> BenchResult:
        seed = next(draws)
        if args.http:
            return asyncio.run(
                run_http_latency(args.http, count, rate or 100, args.patients, seed=seed, seeded=args.seeded)
            )
        return asyncio.run(
            run_bench(args.bootstrap, count, args.patients, rate, seed=seed, stage=args.stage, seeded=args.seeded)
        )

    def floor(count: int) -> BenchResult | None:
        if not args.floor:
            return None
        return asyncio.run(run_floor(args.bootstrap, count, rate or (100 if args.http else None)))

    print(f"offered: {f'{rate:.0f}/s' if rate else 'flat out'}", flush=True)
    if args.warmup:
        print(f"warm-up: {args.warmup} not counted", flush=True)
        floor(args.warmup)
        figure(args.warmup)
    runs = []
    for number in range(1, args.runs + 1):
        below = floor(args.count)
        runs.append(Run(figure(args.count), below))
        print(run_line(number, runs[-1]), flush=True)
    what = "POST /v1/fees answered" if args.http else f"submissions to stage {args.stage}"
    result = medians(runs, what, rate or (100 if args.http else None))
    print(medians_line(result), flush=True)
    return result


def cmd_bench_protection(args: argparse.Namespace) -> int:
    """Protection alone: recomputing a 200-fee history, then fee events through a running protection."""
    from efrikort.bench_protection import new_fee_recompute, recompute_history, run_new_fee_bench, run_protection_bench

    for count in (5, 200, 500):
        print(f"recompute a {count}-fee history: median {recompute_history(count):.3f} ms", flush=True)
    # Issue 17: one new fee for a patient with 500 fees costs at most twice one for a patient with 5.
    (small, small_full), (large, large_full) = new_fee_recompute(5), new_fee_recompute(500)
    print(
        f"recompute one new fee, 5 / 500 fees: from the checkpoint {small:.3f} / {large:.3f} ms "
        f"(ratio {large / small:.1f}); in full {small_full:.3f} / {large_full:.3f} ms "
        f"(ratio {large_full / small_full:.1f})",
        flush=True,
    )
    if args.new_fee_samples:
        seed = random.randrange(1_000_000)  # new patients on every run against the same stack
        medians = asyncio.run(run_new_fee_bench(args.bootstrap, (5, 500), args.new_fee_samples, seed))
        print(
            f"one new fee to its outcome, 5 / 500 fees: median {medians[5]:.1f} / {medians[500]:.1f} ms "
            f"(ratio {medians[500] / medians[5]:.2f})",
            flush=True,
        )

    def run(count: int, seed: int) -> BenchResult:
        return asyncio.run(run_protection_bench(args.bootstrap, count, args.patients, args.rate, seed=seed))

    _report_runs(_timed_runs(args, run), "fee events to their outcome")
    return 0


def cmd_bench_desk(args: argparse.Namespace) -> int:
    """Page answer times of a running desk (`efrikort up`), one signed-in person asking page after page."""
    from efrikort.bench_desk import bench_desk, summary

    if args.warmup:
        bench_desk(args.url, args.person, args.unit, args.warmup)
    print(summary(bench_desk(args.url, args.person, args.unit, args.rounds)))
    return 0


def cmd_chaos(args: argparse.Namespace) -> int:
    """Load an e-frikort of the run's own while killing and restarting its parts; check nothing was lost."""
    from efrikort.chaos.run import ChaosOptions, report_lines, run_chaos

    options = ChaosOptions(
        root=Path(args.dir) if args.dir else var_dir() / "chaos",
        submissions=args.submissions,
        kill_every=args.kill_every,
        seed=args.seed,
        rate=args.rate,
        rolling=args.rolling,
        restart_infra=not args.no_server_restarts,
    )
    # The broker and the services are taken away on purpose: the client library's complaints are expected.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # With --json the report is the one thing on stdout; progress goes to stderr.
    progress = sys.stderr if args.json else sys.stdout

    def say(line: str) -> None:
        print(line, file=progress, flush=True)

    report = run_chaos(options, say)
    if args.json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print("\n".join(report_lines(report)))
    return 0 if report.ok else 1


def cmd_seed_ledger(args: argparse.Namespace) -> int:
    """A large region's year of fees straight into registration's and protection's tables, with COPY."""
    from efrikort.seed_ledger import SeedOptions, load_actors, run
    from protection.regions import RegionSettings

    options = SeedOptions(
        database_url=args.database_url,
        patients=args.patients,
        fee_versions=args.fee_versions,
        actors=load_actors(Path(args.directory), args.region),
        key_secret=args.patient_key_secret,
        region=RegionSettings.load(Path(args.region_file) if args.region_file else None),
        seed=args.seed,
        append=args.append,
    )
    return run(options, args.json)


def main(argv: list[str] | None = None) -> int:
    return int((args := parse(argv)).func(args) or 0)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="efrikort", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_running_commands(commands)
    _add_bench_commands(commands)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:
        # Everything after `test` is pytest's, in its order and options included (argparse's REMAINDER
        # refuses a first argument that starts with a dash, such as `-q`).
        args = parser.parse_args(["test"])
        args.heavy = HEAVY_OPTION in argv[1:]
        args.pytest_args = [arg for arg in argv[1:] if arg != HEAVY_OPTION]
        return args
    return parser.parse_args(argv)


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What `add_subparsers` returns: argparse names it only privately."""


def _add_running_commands(commands: Commands) -> None:
    up = commands.add_parser("up", help="bring up Kafka, PostgreSQL and every service; Ctrl-C stops it all")
    up.add_argument("--keep-infra", action="store_true", help="leave Kafka and PostgreSQL running on exit")
    up.add_argument("--timeout", type=float, default=120, help="seconds each service may take to be ready")
    up.add_argument(
        "--http-port-base",
        type=int,
        default=0,
        help="serve the services on BASE+1 .. BASE+4 and the desk on BASE+5 (default: 8081 .. 8084, 8080)",
    )
    _add_size_arguments(up)
    up.add_argument(
        "--replicas", type=int, default=1, help="run each service as N replicas (ports +10, +20, ...; one group)"
    )
    up.add_argument(
        "--no-sample-directory",
        action="store_true",
        help=f"do not load {SAMPLE_DIRECTORY} into access once it is ready",
    )
    up.add_argument(
        "--observe",
        action="store_true",
        help="also run Prometheus (Debian's package) scraping every service, with the alert rules loaded",
    )
    up.add_argument("--prometheus-port", type=int, default=PROMETHEUS_PORT, help="where Prometheus listens (--observe)")
    up.set_defaults(func=cmd_up)

    service = commands.add_parser("service", help="run one service in the foreground")
    service.add_argument("name", choices=sorted([*SERVICE_PORTS, DESK]))
    service.set_defaults(func=cmd_service)

    infra = commands.add_parser("infra", help="start, stop or wipe the local Kafka and PostgreSQL")
    infra.add_argument("action", choices=["up", "down", "status", "reset"])
    _add_size_arguments(infra)
    infra.set_defaults(func=cmd_infra)

    test = commands.add_parser(
        "test", help=f"run every check and test ({HEAVY_OPTION} adds the heavy tier; other arguments go to pytest)"
    )
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=cmd_test, heavy=False)

    directory = commands.add_parser("import-directory", help="load a directory export file into access")
    directory.add_argument("file", help="an efrikort-directory/1 JSON file (see README, Access)")
    directory.set_defaults(func=cmd_import_directory)

    credentials = commands.add_parser(
        "credentials", help="issue, rotate or revoke an integrated system's Kafka login (SCRAM user)"
    )
    credentials.add_argument("action", choices=["issue", "rotate", "revoke"])
    credentials.add_argument("system_id", help="the system's HSA-ID, e.g. SE2321000016-SYS1")
    credentials.set_defaults(func=cmd_credentials)

    dlq = commands.add_parser(
        "dlq", help="dead-letter topics: list (counts, or one topic's letters), show one, replay one or all"
    )
    dlq.add_argument("action", choices=["list", "show", "replay"])
    dlq.add_argument("topic", nargs="?", help="a dead-letter topic, e.g. efrikort.fees.v1.dlq")
    dlq.add_argument("where", nargs="?", metavar="PARTITION:OFFSET", help="one dead letter, e.g. 0:17")
    dlq.add_argument("--all", action="store_true", help="replay: every dead letter of the topic not yet replayed")
    dlq.add_argument("--value", action="store_true", help="show: print the value too (it may hold an identity number)")
    dlq.set_defaults(func=cmd_dlq)

    stats = commands.add_parser(
        "statements", help="the statements that took PostgreSQL the most time, by service role (pg_stat_statements)"
    )
    stats.add_argument("--top", type=int, default=20, help="how many (default 20)")
    stats.add_argument("--reset", action="store_true", help="forget what was counted, to measure from now")
    stats.set_defaults(func=cmd_statements)

    topology = commands.add_parser("topology", help="print which service consumes and produces which topic")
    topology.set_defaults(func=cmd_topology)

    pod = commands.add_parser(
        "containers",
        help="run every service in a container of the one image (podman), Kafka and PostgreSQL on the host",
    )
    pod.add_argument("action", choices=["up", "down"])
    pod.add_argument("--timeout", type=float, default=240, help="seconds each service may take to be ready")
    pod.set_defaults(func=cmd_containers)

    helm = commands.add_parser(
        "helm-values", help="write the Helm chart's Kafka topics, ACLs and consumer groups from the services' code"
    )
    helm.add_argument("--check", action="store_true", help="only say whether the committed file is up to date")
    helm.set_defaults(func=cmd_helm_values)

    example = commands.add_parser(
        "send-example-fee", help="publish a fee submission as an integrated system and print its outcome"
    )
    example.add_argument("--system", default="SE2321000016-SYS1", help="the system whose login is used")
    example.add_argument("--login", help="its kcat file (default: var/credentials/<system>.kcat.conf)")
    example.add_argument("--file", help="a submission JSON file instead of the built-in example")
    example.set_defaults(func=cmd_send_example_fee)


def _add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--brokers",
        type=int,
        default=None,
        help="Kafka nodes (each broker and controller): 1, or 3 for replication factor 3 and min.insync.replicas=2 "
        "(default: as the data was made, else 1; changing it needs `efrikort infra reset`)",
    )


def _add_bench_commands(commands: Commands) -> None:
    bench = commands.add_parser("bench", help="load benchmark on a running stack: submissions in, outcomes out")
    bench.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    bench.add_argument("--submissions", dest="count", type=int, default=2000)
    bench.add_argument("--warmup", type=int, default=500, help="submissions sent first and not counted")
    bench.add_argument("--patients", type=int, default=500)
    bench.add_argument(
        "--seeded",
        type=int,
        default=0,
        metavar="N",
        help="draw the patients from the first N that `seed-ledger` wrote, so each fee lands on a stored history",
    )
    bench.add_argument(
        "--patient-seed",
        type=int,
        default=None,
        metavar="N",
        help="draw the patients and fees from seed N on (default: a new random pool on each invocation, printed)",
    )
    bench.add_argument("--rate", type=float, default=None, help="submissions per second (default: as fast as possible)")
    bench.add_argument("--runs", type=int, default=3)
    bench.add_argument(
        "--stage",
        choices=["outcome", "registration"],
        default="outcome",
        help="outcome: end to end to the outcome topic; registration: until registration has published FeeRegistered",
    )
    bench.add_argument(
        "--http",
        metavar="URL",
        default=None,
        help="instead: POST /v1/fees to registration at URL (e.g. http://127.0.0.1:8081) at --rate "
        "(default 100/s) and time each answer",
    )
    bench.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the raw Kafka floor (plain aiokafka over the same two hops) measured before each run",
    )
    bench.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH (- for stdout)")
    bench.add_argument(
        "--curve",
        metavar="RATES",
        help="offered rates, comma-separated (e.g. 20,50,100,200): runs at each, drawn as --png",
    )
    bench.add_argument("--png", default="docs/performance/latency-vs-rate.png", help="where --curve draws")
    bench.set_defaults(func=cmd_bench)

    chaos = commands.add_parser(
        "chaos",
        help="an e-frikort of its own under load while services are killed and Kafka and PostgreSQL restarted; "
        "then check every outcome, fee, ledger and notice",
    )
    chaos.add_argument("--submissions", type=int, default=10_000)
    chaos.add_argument("--kill-every", type=float, default=5.0, help="seconds between SIGKILLs of a random service")
    chaos.add_argument("--seed", type=int, default=1, help="the workload and the choice of victims")
    chaos.add_argument(
        "--rate",
        type=float,
        default=25.0,
        help="submissions per second (slow enough that kills happen during the load)",
    )
    chaos.add_argument(
        "--rolling",
        action="store_true",
        help="instead of kills: restart each service in turn (SIGTERM, start, ready) during the load, and report "
        "the longest pause between outcomes",
    )
    chaos.add_argument("--no-server-restarts", action="store_true", help="do not restart Kafka and PostgreSQL")
    chaos.add_argument("--dir", help="the run's own directory (default var/chaos; wiped at start)")
    chaos.add_argument("--json", action="store_true", help="the report as JSON on stdout (progress on stderr)")
    chaos.set_defaults(func=cmd_chaos)

    bench_protection = commands.add_parser(
        "bench-protection", help="protection alone on a running stack: fee events in, outcomes out"
    )
    bench_protection.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    bench_protection.add_argument("--events", dest="count", type=int, default=10000)
    bench_protection.add_argument("--warmup", type=int, default=2000, help="events sent first and not counted")
    bench_protection.add_argument("--patients", type=int, default=5000)
    bench_protection.add_argument(
        "--new-fee-samples", type=int, default=40, help="new fees timed one at a time per history size (0: none)"
    )
    bench_protection.add_argument("--rate", type=float, default=None, help="events per second (default: flat out)")
    bench_protection.add_argument("--runs", type=int, default=3)
    bench_protection.set_defaults(func=cmd_bench_protection)

    bench_desk = commands.add_parser("bench-desk", help="page answer times of a running desk (p50/p95 per page)")
    bench_desk.add_argument("--url", default=f"http://127.0.0.1:{DESK_PORT}", help="the desk's address")
    bench_desk.add_argument("--rounds", type=int, default=100, help="times each of the four main pages is asked")
    bench_desk.add_argument("--warmup", type=int, default=10, help="rounds first that are not counted")
    bench_desk.add_argument("--person", default="SE2321000016-E001", help="who signs in (development sign-in)")
    bench_desk.add_argument("--unit", default="SE2321000016-U001", help="the unit they act for")
    bench_desk.set_defaults(func=cmd_bench_desk)
    _add_seed_ledger(commands)


def _add_seed_ledger(commands: Commands) -> None:
    from runtime.settings import DEV_PATIENT_KEY_SECRET

    seed = commands.add_parser(
        "seed-ledger",
        help="write a large region's year of fees straight into the services' tables (COPY), for benchmarks",
    )
    seed.add_argument("--patients", type=int, default=2_000_000)
    seed.add_argument("--fee-versions", type=int, default=10_000_000, help="fees and their corrections (about 4 %%)")
    seed.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/efrikort"),
        help="the server the services' schemas are in, as a user who may write them (default: the local stack's)",
    )
    seed.add_argument(
        "--patient-key-secret",
        default=os.environ.get("EFRIKORT_PATIENT_KEY_SECRET", DEV_PATIENT_KEY_SECRET),
        help="the stack's patient key secret (default: $EFRIKORT_PATIENT_KEY_SECRET, else the development one)",
    )
    seed.add_argument("--directory", default=str(repo_root() / SAMPLE_DIRECTORY), help="units, users and system")
    seed.add_argument("--region", default=os.environ.get("EFRIKORT_REGION", "Region Exempel"))
    seed.add_argument("--region-file", help="protection's region settings (default: protection's own default)")
    seed.add_argument("--seed", type=int, default=1, help="the random generator's seed")
    seed.add_argument("--append", action="store_true", help="seed further patients into an already seeded ledger")
    seed.add_argument("--json", action="store_true", help="the summary as JSON on stdout")
    seed.set_defaults(func=cmd_seed_ledger)


if __name__ == "__main__":
    raise SystemExit(main())
