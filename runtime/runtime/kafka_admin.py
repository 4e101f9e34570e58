"""Kafka administration that aiokafka's admin client lacks: SCRAM users and ACLs.

Used by the project's admin tooling (the super user) and by whatever provisions principals. The
requests are Kafka's own (AlterUserScramCredentials v0; CreateAcls, DescribeAcls, DeleteAcls v1),
sent over an authenticated `AIOKafkaAdminClient` connection.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.struct import Schema
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, TaggedFields

SCRAM_SHA_512 = 2
"""Kafka's number for the SCRAM-SHA-512 mechanism."""
SCRAM_ITERATIONS = 4096
"""Kafka's minimum for SCRAM-SHA-512: every client connection computes it once."""


class ResourceType(IntEnum):
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class PatternType(IntEnum):
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


ALLOW = 3
ANY_PERMISSION = 1


@dataclass(frozen=True, order=True)
class Acl:
    """One allow rule: `principal` may do `operation` on the resource (from any host)."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: Operation

    def __str__(self) -> str:
        pattern = "prefix " if self.pattern is PatternType.PREFIXED else ""
        return f"{self.principal} {self.operation.name} {self.resource_type.name} {pattern}{self.resource_name}"


def user(name: str) -> str:
    """The principal of a SCRAM user."""
    return f"User:{name}"


class KafkaAdminError(RuntimeError):
    """The broker refused an administrative request; the message names the request and Kafka's error."""


# --- SCRAM users ---------------------------------------------------------------------------------


class _AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user_name", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterUserScramCredentialsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterUserScramCredentials(Request[_AlterUserScramCredentialsRequest_v0]):
    API_KEY = 51

    def __init__(self, deletions: list[tuple[Any, ...]], upsertions: list[tuple[Any, ...]]) -> None:
        self._deletions = deletions
        self._upsertions = upsertions

    def build(
        self, request_struct_class: type[_AlterUserScramCredentialsRequest_v0]
    ) -> _AlterUserScramCredentialsRequest_v0:
        return request_struct_class(self._deletions, self._upsertions, {})


def salted_password(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """SCRAM's Hi(password, salt, i) for SHA-512: what the broker stores a credential from (RFC 5802)."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


async def set_scram_password(admin: AIOKafkaAdminClient, name: str, password: str) -> None:
    """Create the SCRAM-SHA-512 user `name`, or give it a new password (the old one stops working)."""
    salt = secrets.token_bytes(32)
    upsert: tuple[Any, ...] = (name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted_password(password, salt), {})
    await _alter_scram(admin, _AlterUserScramCredentials([], [upsert]), name)


async def delete_scram_user(admin: AIOKafkaAdminClient, name: str) -> None:
    """Remove the user's credential: it can no longer authenticate. A user that has none is no error."""
    response = await admin._send_request(_AlterUserScramCredentials([(name, SCRAM_SHA_512, {})], []))
    for user_name, code, message, _ in response.results:
        if code not in (0, 91):  # 91: RESOURCE_NOT_FOUND, no such credential
            raise KafkaAdminError(f"removing the SCRAM user {user_name}: Kafka error {code} {message or ''}")


async def _alter_scram(admin: AIOKafkaAdminClient, request: _AlterUserScramCredentials, name: str) -> None:
    response = await admin._send_request(request)
    for user_name, code, message, _ in response.results:
        if code != 0:
            raise KafkaAdminError(f"setting the SCRAM user {user_name}: Kafka error {code} {message or ''}")


# --- ACLs ----------------------------------------------------------------------------------------


class _CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, acls: Sequence[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [(a.resource_type, a.resource_name, a.pattern, a.principal, "*", a.operation, ALLOW) for a in self._acls]
        )


class _DescribeAcls(Request[DescribeAclsRequest_v1]):
    API_KEY = 29

    def __init__(self, principal: str | None) -> None:
        self._principal = principal

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(
            ResourceType.ANY, None, PatternType.ANY, self._principal, None, Operation.ANY, ANY_PERMISSION
        )


class _DeleteAcls(Request[DeleteAclsRequest_v1]):
    API_KEY = 31

    def __init__(self, acls: Sequence[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(
            [(a.resource_type, a.resource_name, a.pattern, a.principal, "*", a.operation, ALLOW) for a in self._acls]
        )


async def create_acls(admin: AIOKafkaAdminClient, acls: Iterable[Acl]) -> None:
    """Add allow rules (adding one that exists changes nothing)."""
    acls = sorted(set(acls))
    if not acls:
        return
    response = await admin._send_request(_CreateAcls(acls))
    failed = [
        (acl, code, message) for acl, (code, message) in zip(acls, response.creation_responses, strict=True) if code
    ]
    if failed:
        acl, code, message = failed[0]
        raise KafkaAdminError(f"creating ACL {acl}: Kafka error {code} {message or ''} ({len(failed)} failed)")


async def describe_acls(admin: AIOKafkaAdminClient, principal: str | None = None) -> set[Acl]:
    """Every allow rule the broker holds (for one principal, when given)."""
    response = await admin._send_request(_DescribeAcls(principal))
    if response.error_code:
        raise KafkaAdminError(f"describing ACLs: Kafka error {response.error_code} {response.error_message or ''}")
    return {
        Acl(acl_principal, ResourceType(rtype), name, PatternType(pattern), Operation(operation))
        for rtype, name, pattern, acls in response.resources
        for acl_principal, _host, operation, permission in acls
        if permission == ALLOW
    }


async def delete_acls(admin: AIOKafkaAdminClient, acls: Iterable[Acl]) -> None:
    acls = sorted(set(acls))
    if not acls:
        return
    response = await admin._send_request(_DeleteAcls(acls))
    for code, message, _matching in response.filter_responses:
        if code:
            raise KafkaAdminError(f"deleting ACLs: Kafka error {code} {message or ''}")


async def replace_acls(
    admin: AIOKafkaAdminClient,
    principal: str,
    wanted: Iterable[Acl],
    leave_alone: Callable[[Acl], bool] = lambda acl: False,
) -> None:
    """Make the principal's rules exactly `wanted`: add what is missing, remove what is no longer wanted,
    except the rules `leave_alone` says someone else manages."""
    wanted = set(wanted)
    held = {acl for acl in await describe_acls(admin, principal) if not leave_alone(acl)}
    await create_acls(admin, wanted - held)
    await delete_acls(admin, held - wanted)


__all__ = [
    "Acl",
    "KafkaAdminError",
    "Operation",
    "PatternType",
    "ResourceType",
    "create_acls",
    "delete_acls",
    "delete_scram_user",
    "describe_acls",
    "replace_acls",
    "set_scram_password",
    "user",
]
