"""The whole system in containers of the one image (deploy/containers/pod.yaml, played by podman), on
the session's Kafka and PostgreSQL on the host: a fee sent as an integrated system on Kafka comes back
assessed, and the desk in its container reaches every service. The image is built first
(deploy/containers/build: the base image once, then the layers that changed), so what runs is this
checkout. Skipped, saying why, where podman is missing or cannot run a container. In the heavy tier
(`./efrikort test --heavy`): minutes of building and starting."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from access.directory import parse_export
from efrikort import containers
from efrikort.cli import SAMPLE_DIRECTORY
from efrikort.infra.paths import repo_root
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import DESK, SERVICE_PORTS, ServiceProcess
from efrikort.through_access import until_opened
from tests.actors import held
from tests.infra_fixtures import free_ports
from tests.kafka_clients import plain_producer, reading
from tests.submissions import EXAMPLE_SYSTEM, new_patient, outcomes_topic, submission, submissions_topic

# A first build of the base image alone took 10 minutes here (docs/containers.md).
pytestmark = [pytest.mark.e2e, pytest.mark.heavy, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def image() -> None:
    """This checkout's image, built; a failed build fails the tests (where podman is, it must build)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman buildah runc mmdebstrap)")
    built = subprocess.run(
        [str(repo_root() / "deploy" / "containers" / "build")], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, f"deploy/containers/build failed:\n{built.stderr[-4000:]}"


@pytest.fixture(scope="module")
def pod(infra: InfraEndpoints, image: None) -> Iterator[dict[str, ServiceProcess]]:
    if why := containers.podman_runs_containers():
        pytest.skip(why)
    names = [*SERVICE_PORTS, DESK]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    pod_file, env_files = containers.write_pod(infra, ports, {"EFRIKORT_OUTBOX_POLL_INTERVAL_S": "0.1"})
    containers.play(pod_file, env_files)
    # Only to ask /ready: the processes are the pod's.
    probes = {name: ServiceProcess(name, port, {}, Path("/dev/null")) for name, port in ports.items()}
    try:
        for name, probe in probes.items():
            try:
                probe.wait_ready(timeout=240)
            except TimeoutError as error:
                raise AssertionError(f"{name} in its container: {error}\n{containers.logs(name)}") from error
        subprocess.run(
            [sys.executable, "-m", "access.importer", str(repo_root() / SAMPLE_DIRECTORY)],
            env={**containers.podman_env(), **infra.as_env(), "EFRIKORT_DEVELOPMENT_MODE": "true"},
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        yield probes
    finally:
        containers.down(pod_file)


async def test_a_fee_flows_through_the_services_in_containers(
    infra: InfraEndpoints, pod: dict[str, ServiceProcess]
) -> None:
    await held(infra, parse_export((repo_root() / SAMPLE_DIRECTORY).read_bytes()))
    await until_opened(infra.kafka_bootstrap_servers, infra.admin_options(), [EXAMPLE_SYSTEM])
    fee = submission(patient_id=new_patient(), visit_date="2025-04-25", fee_amount=300, paid_amount=300)
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic()) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        sent = time.monotonic()
        await producer.send_and_wait(submissions_topic(), json.dumps(fee).encode(), key=fee["submission_id"].encode())
        [record] = await outcomes.wait_for(lambda r: r.key == fee["submission_id"].encode(), timeout=60)
        print(f"outcome after {time.monotonic() - sent:.2f}s through the containers")
    outcome = json.loads(record.value)
    assert outcome["status"] == "accepted"
    assert outcome["amount_due"] == 300
    assert outcome["protection"]["remaining"] == 1150


async def test_the_desk_in_its_container_reaches_every_service_and_offers_sign_in(
    pod: dict[str, ServiceProcess],
) -> None:
    async with httpx.AsyncClient(base_url=pod[DESK].url, timeout=10) as desk:
        ready = await desk.get("/ready")
        sign_in = await desk.get("/sign-in")
        metrics = await desk.get("/metrics")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == set(SERVICE_PORTS) and all(ready.json()["checks"].values()), ready.text
    assert sign_in.status_code == 200 and 'name="csrf_token"' in sign_in.text
    assert 'efrikort_http_requests_total{method="GET",route="/sign-in",status="200"}' in metrics.text
