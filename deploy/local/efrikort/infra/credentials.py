"""Kafka credentials of the local stack: one SCRAM user per principal, kept under the broker's data
directory (never committed), readable by their owner alone.

The admin user is the broker's one super user, used only by the project's own tooling; every service
and every integrated system has a user of its own (see `efrikort.kafka_principals`).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ADMIN_USER = "efrikort-admin"


@dataclass(frozen=True)
class Credential:
    """A SCRAM-SHA-512 user and its password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password=***)"


class CredentialStore:
    """One JSON file per user in `directory`, mode 0600."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, username: str) -> Path:
        return self.directory / f"{username}.json"

    def get(self, username: str) -> Credential | None:
        try:
            data = json.loads(self.path(username).read_text())
        except FileNotFoundError:
            return None
        return Credential(data["username"], data["password"])

    def get_or_create(self, username: str) -> Credential:
        return self.get(username) or self.replace(username)

    def replace(self, username: str) -> Credential:
        """A new random password for `username`, written before it is used anywhere."""
        credential = Credential(username, secrets.token_urlsafe(24))
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        descriptor = os.open(self.path(username), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"username": credential.username, "password": credential.password}, file)
        return credential

    def remove(self, username: str) -> None:
        self.path(username).unlink(missing_ok=True)
