"""The whole system in containers of the one image (deploy/containers/pod.yaml, played by podman), on
the session's Kafka and PostgreSQL on the host: a fee sent as an integrated system on Kafka comes back
assessed. Skipped, saying why, where podman is missing, cannot run a container, or the image is not
built (deploy/containers/build)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.directory import parse_export
from efrikort import containers
from efrikort.cli import SAMPLE_DIRECTORY
from efrikort.infra.paths import repo_root
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import SERVICE_PORTS, ServiceProcess
from efrikort.through_access import until_opened
from tests.actors import held
from tests.infra_fixtures import free_ports
from tests.kafka_clients import plain_producer, reading
from tests.submissions import EXAMPLE_SYSTEM, new_patient, outcomes_topic, submission, submissions_topic

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pod(infra: InfraEndpoints) -> Iterator[dict[str, ServiceProcess]]:
    if why := containers.podman_runs_containers():
        pytest.skip(why)
    ports = dict(zip(SERVICE_PORTS, free_ports(len(SERVICE_PORTS)), strict=True))
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
