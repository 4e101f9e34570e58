"""A Kafka principal per service, with ACLs for exactly what it declares, made by the admin tooling.

The rules come from one place: each service's declared consumers and produced topics
(`efrikort.topology`). A service may read what it consumes (and commit offsets in groups named after
it), write what it produces and the dead-letter topics of what it consumes, and create those topics
(each service creates its own at start). Nothing else: `allow.everyone.if.no.acl.found=false` closes
the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from efrikort.infra.stack import InfraEndpoints, LocalInfra
from efrikort.topology import ServiceTopics, topology
from runtime import kafka
from runtime.kafka_admin import Acl, Operation, PatternType, ResourceType, replace_acls, set_scram_password, user
from runtime.settings import ServiceSettings


def service_acls(service: ServiceTopics) -> set[Acl]:
    """Everything the service's principal may do, derived from its declarations."""
    principal = user(service.service)
    reads = {topic.name for topic in service.consumes}
    writes = {topic.name for topic in service.produces} | {topic.dead_letter.name for topic in service.consumes}
    acls = {_topic(principal, name, op) for name in reads for op in (Operation.READ, Operation.DESCRIBE)}
    acls |= {_topic(principal, name, op) for name in writes for op in (Operation.WRITE, Operation.DESCRIBE)}
    acls |= {_topic(principal, name, Operation.CREATE) for name in reads | writes}
    acls.add(Acl(principal, ResourceType.GROUP, service.service, PatternType.PREFIXED, Operation.READ))
    return acls


def _topic(principal: str, name: str, operation: Operation) -> Acl:
    return Acl(principal, ResourceType.TOPIC, name, PatternType.LITERAL, operation)


def wanted_acls() -> dict[str, set[Acl]]:
    """Per service principal, its ACLs."""
    return {user(service.service): service_acls(service) for service in topology()}


async def provision_services(endpoints: InfraEndpoints, services: Iterable[ServiceTopics] | None = None) -> None:
    """Give every service its SCRAM user (password kept in the local credential store) and exactly
    its ACLs. Run by `efrikort up` and the tests' infrastructure once Kafka is up; running it again
    changes only what the declarations changed."""
    if endpoints.kafka_admin is None or endpoints.kafka_credentials is None:
        return
    async with endpoints.admin_client() as admin:
        for service in services if services is not None else topology():
            credential = endpoints.kafka_credentials.get_or_create(service.service)
            await set_scram_password(admin, credential.username, credential.password)
            await replace_acls(admin, user(service.service), service_acls(service))


def provision_services_blocking(endpoints: InfraEndpoints) -> None:
    asyncio.run(provision_services(endpoints))


def admin_client_options() -> dict[str, object]:
    """How the project's own tools (bench, example fee, tests' clients) connect: as the principal the
    environment names (`EFRIKORT_KAFKA_*`), else as the local stack's admin user."""
    settings = ServiceSettings()
    if settings.kafka_sasl_username or settings.kafka_security_protocol == "PLAINTEXT":
        return kafka.client_options(settings)
    return LocalInfra().kafka.admin_options()
