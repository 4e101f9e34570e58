"""A Kafka principal per service, with ACLs for exactly what it declares, made by the admin tooling.

The rules come from one place: each service's declared consumers and produced topics
(`efrikort.topology`). A service may read what it consumes (and commit offsets in groups named after
it), write what it produces and the dead-letter topics of what it consumes, and create those topics
(each service creates its own at start). Nothing else: `allow.everyone.if.no.acl.found=false` closes
the rest.

One exception, made here and nowhere else: access administers the integrated systems' own topics
(`SYSTEM_TOPICS_ADMINISTRATOR`). The rights on those topics are per system and are access's to give and
take away (`access.system_topics`), so provisioning never touches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from contracts.topics import SYSTEM_TOPIC_PREFIX, Topic
from efrikort.infra.stack import InfraEndpoints, LocalInfra
from efrikort.topology import ServiceTopics, topology
from runtime import kafka
from runtime.kafka_admin import Acl, Operation, PatternType, ResourceType, replace_acls, set_scram_password, user
from runtime.settings import ServiceSettings

SYSTEM_TOPICS_ADMINISTRATOR = "access"
"""The service that opens an integrated system's topics when it approves the system and closes them when
it is suspended: it creates the topics and gives and removes their ACLs, so it may create topics under
`efrikort.systems.` and alter and describe the cluster's ACLs (Kafka has no narrower right for ACLs:
that is why it is one service, named here, and why docs/security.md says what it means)."""


def service_acls(service: ServiceTopics) -> set[Acl]:
    """Everything the service's principal may do, derived from its declarations. The integrated systems'
    topics a service declares are left out: their rights come per system, from access."""
    principal = user(service.service)
    consumes = [topic for topic in service.consumes if isinstance(topic, Topic)]
    reads = {topic.name for topic in consumes}
    writes = {topic.name for topic in service.produces if isinstance(topic, Topic)}
    writes |= {topic.dead_letter.name for topic in consumes}
    acls = {_topic(principal, name, op) for name in reads for op in (Operation.READ, Operation.DESCRIBE)}
    acls |= {_topic(principal, name, op) for name in writes for op in (Operation.WRITE, Operation.DESCRIBE)}
    acls |= {_topic(principal, name, Operation.CREATE) for name in reads | writes}
    acls.add(Acl(principal, ResourceType.GROUP, service.service, PatternType.PREFIXED, Operation.READ))
    if service.service == SYSTEM_TOPICS_ADMINISTRATOR:
        acls |= system_topics_administration(principal)
    return acls


def system_topics_administration(principal: str) -> set[Acl]:
    """Create the systems' topics, and give and take away the rights on them."""
    return {
        Acl(principal, ResourceType.TOPIC, SYSTEM_TOPIC_PREFIX, PatternType.PREFIXED, Operation.CREATE),
        Acl(principal, ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL, Operation.ALTER),
        Acl(principal, ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL, Operation.DESCRIBE),
    }


def is_on_system_topic(acl: Acl) -> bool:
    """A right on an integrated system's topic: access's to manage, per system."""
    return (
        acl.resource_type is ResourceType.TOPIC
        and acl.resource_name.startswith(SYSTEM_TOPIC_PREFIX)
        and (acl.pattern is PatternType.LITERAL)
    )


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
            await replace_acls(admin, user(service.service), service_acls(service), leave_alone=is_on_system_topic)


def provision_services_blocking(endpoints: InfraEndpoints) -> None:
    asyncio.run(provision_services(endpoints))


def admin_client_options() -> dict[str, object]:
    """How the project's own tools (bench, example fee, tests' clients) connect: as the principal the
    environment names (`EFRIKORT_KAFKA_*`), else as the local stack's admin user."""
    settings = ServiceSettings()
    if settings.kafka_sasl_username or settings.kafka_security_protocol == "PLAINTEXT":
        return kafka.client_options(settings)
    return LocalInfra().kafka.admin_options()
