"""`efrikort credentials issue|rotate|revoke <system-id>`: an integrated system's Kafka login.

An integrated system is a principal of its own (`User:<its HSA-ID>`). The operator issues its SCRAM
user through the broker's admin API with this command and hands the system the two files it writes:
a Java client properties file and a kcat (librdkafka) configuration, each naming the broker, the CA
and the login. Which topics the login may use is not decided here: access opens the system's own
topics when it approves the system and closes them when it is suspended.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from efrikort.infra.credentials import Credential
from efrikort.infra.paths import var_dir
from efrikort.infra.stack import InfraEndpoints
from runtime.kafka_admin import delete_scram_user, set_scram_password


@dataclass(frozen=True)
class ClientFiles:
    """What an integrated system is handed: where its Kafka client settings are written."""

    properties: Path
    kcat: Path


def client_files_dir() -> Path:
    return var_dir() / "credentials"


def files_of(system_id: str, directory: Path | None = None) -> ClientFiles:
    base = directory or client_files_dir()
    return ClientFiles(base / f"{system_id}.properties", base / f"{system_id}.kcat.conf")


async def issue(
    endpoints: InfraEndpoints, system_id: str, directory: Path | None = None, *, keep_password: bool = False
) -> ClientFiles:
    """A new password for the system's SCRAM user (made when missing), written to its client files.
    Issuing again is rotating: the old password stops working at once. With `keep_password` (what
    `efrikort up` does for the sample systems) a login that exists keeps its password."""
    if endpoints.kafka_credentials is None:
        raise RuntimeError("credentials are issued by the local stack's admin tooling; this broker is not ours")
    store = endpoints.kafka_credentials
    credential = store.get_or_create(system_id) if keep_password else store.replace(system_id)
    async with endpoints.admin_client() as admin:
        await set_scram_password(admin, credential.username, credential.password)
    return write_client_files(endpoints, credential, files_of(system_id, directory))


async def revoke(endpoints: InfraEndpoints, system_id: str, directory: Path | None = None) -> None:
    """The system can no longer log in; its client files and stored password are removed."""
    async with endpoints.admin_client() as admin:
        await delete_scram_user(admin, system_id)
    if endpoints.kafka_credentials is not None:
        endpoints.kafka_credentials.remove(system_id)
    for path in (files := files_of(system_id, directory)).properties, files.kcat:
        path.unlink(missing_ok=True)


def write_client_files(endpoints: InfraEndpoints, credential: Credential, files: ClientFiles) -> ClientFiles:
    """The Java client properties and the kcat configuration for `credential`, readable by the owner alone."""
    ca = endpoints.kafka_ca_file or ""
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{credential.username}" password="{credential.password}";'
    )
    _write_secret(
        files.properties,
        f"# Kafka client settings of {credential.username} for e-frikort (Java clients, kafka-console-*).\n"
        f"bootstrap.servers={endpoints.kafka_bootstrap_servers}\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        f"sasl.jaas.config={jaas}\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={ca}\n",
    )
    _write_secret(
        files.kcat,
        f"# kcat (librdkafka) settings of {credential.username} for e-frikort: kcat -F {files.kcat} ...\n"
        f"bootstrap.servers={endpoints.kafka_bootstrap_servers}\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanisms=SCRAM-SHA-512\n"
        f"sasl.username={credential.username}\n"
        f"sasl.password={credential.password}\n"
        f"ssl.ca.location={ca}\n",
    )
    return files


def _write_secret(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
