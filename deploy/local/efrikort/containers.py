"""`efrikort containers up|down`: every service in a container of the one image, on this host.

Kafka and PostgreSQL are the local stack's, on the host (`efrikort infra up`); the services run in one
podman pod on the host's network (`deploy/containers/pod.yaml`, played by `podman kube play`). What
differs per host (each service's Kafka login and HTTP port, the broker CA's folder) is filled in here:
the logins go into ConfigMaps written to a file of their own under var/ (mode 0600), never into the
committed pod file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import yaml

from efrikort.infra.paths import repo_root, var_dir
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import DESK, DEVELOPMENT_IDENTITY_ENV, ServiceProcess, desk_env
from runtime.settings import DEVELOPMENT_ENV

POD_FILE = Path("deploy/containers/pod.yaml")
CONTAINERS_CONF = Path("deploy/containers/containers.conf")
CA_IN_CONTAINER = "/etc/efrikort/kafka-ca"
IMAGE = "localhost/efrikort:latest"


def podman_env() -> dict[str, str]:
    """podman as it runs here: cgroupfs, no default ulimits (deploy/containers/containers.conf)."""
    return {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(repo_root() / CONTAINERS_CONF))}


def podman_runs_containers() -> str | None:
    """None when podman can run a container here; otherwise why not."""
    if shutil.which("podman") is None:
        return "podman is not installed"
    probe = subprocess.run(
        ["podman", "--runtime", "runc", "run", "--rm", "--network", "host", "--entrypoint", "/bin/true", IMAGE],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if "image not known" in probe.stderr or "no such image" in probe.stderr.lower():
        return "the image localhost/efrikort:latest is not built (deploy/containers/build)"
    if probe.returncode != 0:
        return f"podman cannot run a container here: {probe.stderr.strip()[-300:]}"
    return None


def service_environment(endpoints: InfraEndpoints, name: str, port: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The service's variables in its container: its own Kafka login, the CA where the pod mounts it; as
    under `efrikort up`, it trusts the person the desk names."""
    env = {**endpoints.service_env(name), **DEVELOPMENT_ENV, DEVELOPMENT_IDENTITY_ENV: "true", **extra}
    env["EFRIKORT_HTTP_PORT"] = str(port)
    env["EFRIKORT_HTTP_HOST"] = "127.0.0.1"
    if endpoints.kafka_ca_file:
        env["EFRIKORT_KAFKA_SSL_CA_FILE"] = f"{CA_IN_CONTAINER}/ca.pem"
    return env


def desk_environment(ports: Mapping[str, int]) -> dict[str, str]:
    """The desk's variables in its container: where the services of the pod (the host's network) answer."""
    services = {name: ServiceProcess(name, port, {}, Path("/dev/null")) for name, port in ports.items() if name != DESK}
    env = {**DEVELOPMENT_ENV, **desk_env(services)}
    env["EFRIKORT_HTTP_PORT"] = str(ports[DESK])
    env["EFRIKORT_HTTP_HOST"] = "127.0.0.1"
    return env


def write_pod(
    endpoints: InfraEndpoints, ports: Mapping[str, int], extra: Mapping[str, str] | None = None
) -> tuple[Path, list[Path]]:
    """The pod file with this host's CA folder, and the ConfigMaps of the environments of the services and
    the desk (`ports` names each one's HTTP port)."""
    target = var_dir() / "containers"
    target.mkdir(parents=True, exist_ok=True)
    pod = yaml.safe_load((repo_root() / POD_FILE).read_text())
    pod["spec"]["volumes"][0]["hostPath"]["path"] = str(public_ca_folder(endpoints, target))
    pod_file = target / "pod.yaml"
    pod_file.write_text(yaml.safe_dump(pod, sort_keys=False))
    env_files = []
    for name, port in ports.items():
        if name == DESK:
            environment = desk_environment(ports)
        else:
            environment = service_environment(endpoints, name, port, extra or {})
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"efrikort-{name}"},
            "data": environment,
        }
        # One file each: podman 4 reads only the first ConfigMap of a file.
        env_file = target / f"environment-{name}.yaml"
        descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            yaml.safe_dump(config_map, file, sort_keys=False)
        env_files.append(env_file)
    return pod_file, env_files


def public_ca_folder(endpoints: InfraEndpoints, target: Path) -> Path:
    """A folder holding the broker CA's certificate alone, readable by the containers' user: the local
    PKI folder also holds the CA's key, which no container is shown."""
    folder = target / "kafka-ca"
    folder.mkdir(exist_ok=True)
    if endpoints.kafka_ca_file:
        shutil.copyfile(endpoints.kafka_ca_file, folder / "ca.pem")
        (folder / "ca.pem").chmod(0o644)
    return folder


def play(pod_file: Path, env_files: list[Path]) -> None:
    down(pod_file)
    # From the pod file's own folder: podman 4 builds an image from a folder named like the image
    # (`efrikort`) in the working directory, and the repository's root has the `efrikort` script.
    subprocess.run(
        cwd=pod_file.parent,
        args=[
            "podman",
            "--runtime",
            "runc",
            "kube",
            "play",
            "--build=false",
            *(f"--configmap={path}" for path in env_files),
            str(pod_file),
        ],
        env=podman_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )


def down(pod_file: Path) -> None:
    subprocess.run(
        ["podman", "kube", "down", str(pod_file)], env=podman_env(), check=False, capture_output=True, timeout=120
    )


def logs(container: str, lines: int = 40) -> str:
    result = subprocess.run(
        ["podman", "logs", "--tail", str(lines), f"efrikort-{container}"],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr
