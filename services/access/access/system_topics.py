"""Each integrated system's own Kafka topics: opened when access approves the system, closed when it
may no longer send.

A system writes `efrikort.systems.<system-id>.fee-submissions.v1` and reads
`efrikort.systems.<system-id>.fee-outcomes.v1` as its own principal (`User:<system-id>`), in consumer
groups named `<system-id>.<anything>`. Because no one else may write its submissions topic, the topic
a submission arrives on says which system sent it. Access decides whether a system may send (certified,
approved for this deployment's region, not suspended); this module makes the broker agree:

- open: the three topics exist (submissions, its dead letters, outcomes), registration may read the
  submissions and write dead letters and rejections, protection may write outcomes, and the system
  holds its own rights;
- closed: the system's own rights are removed, so its next produce is refused by the broker. The topics
  and the services' rights stay: what it sent before is still handled and answered, and it reads the
  answers once it is open again.

The keeper compares what the mirror says with what it last made the broker hold, every few seconds, so a
change through the API, a directory import or the agreements feed reaches the broker whichever replica
or process made it. Every step is idempotent: after a restart it simply applies everything again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from access import store
from access.granting import IntegratedSystem
from contracts.topics import SYSTEM_FEE_OUTCOMES, SYSTEM_FEE_SUBMISSIONS, Topic
from runtime import kafka
from runtime.kafka_admin import Acl, Operation, PatternType, ResourceType, create_acls, delete_acls, user
from runtime.service import Runtime
from runtime.settings import ServiceSettings
from runtime.topics import ensure_topics
from runtime.transaction import UnitOfWork

log = logging.getLogger(__name__)

REGISTRATION = user("registration")
"""Reads every system's submissions, answers rejections on its outcome topic."""
PROTECTION = user("protection")
"""Answers every accepted fee on the sending system's outcome topic."""


def may_send(system: IntegratedSystem, region: str) -> bool:
    """Certified, approved for this deployment's region, and not suspended: as `decide` judges a system."""
    return system.certified and not system.suspended and region in system.approved_regions


def topics_of(system_id: str) -> list[Topic]:
    submissions = SYSTEM_FEE_SUBMISSIONS.of(system_id)
    return [submissions, submissions.dead_letter, SYSTEM_FEE_OUTCOMES.of(system_id)]


def consumer_group_prefix(system_id: str) -> str:
    """The system's consumer groups are `<system-id>.<anything>`: the dot, which no HSA-ID holds, keeps
    SE...-SYS1 out of the groups of SE...-SYS10."""
    return f"{system_id}."


def system_acls(system_id: str) -> set[Acl]:
    """The system's own rights: write its submissions, read its outcomes in groups of its own."""
    principal = user(system_id)
    submissions, outcomes = SYSTEM_FEE_SUBMISSIONS.of(system_id).name, SYSTEM_FEE_OUTCOMES.of(system_id).name
    return {
        _topic(principal, submissions, Operation.WRITE),
        _topic(principal, submissions, Operation.DESCRIBE),
        _topic(principal, outcomes, Operation.READ),
        _topic(principal, outcomes, Operation.DESCRIBE),
        Acl(principal, ResourceType.GROUP, consumer_group_prefix(system_id), PatternType.PREFIXED, Operation.READ),
    }


def service_acls(system_id: str) -> set[Acl]:
    """What registration and protection need on the system's topics to take its fees in and answer them."""
    submissions, dead_letters, outcomes = (topic.name for topic in topics_of(system_id))
    return {
        _topic(REGISTRATION, submissions, Operation.READ),
        _topic(REGISTRATION, submissions, Operation.DESCRIBE),
        _topic(REGISTRATION, dead_letters, Operation.WRITE),
        _topic(REGISTRATION, dead_letters, Operation.DESCRIBE),
        _topic(REGISTRATION, outcomes, Operation.WRITE),
        _topic(REGISTRATION, outcomes, Operation.DESCRIBE),
        _topic(PROTECTION, outcomes, Operation.WRITE),
        _topic(PROTECTION, outcomes, Operation.DESCRIBE),
    }


def _topic(principal: str, name: str, operation: Operation) -> Acl:
    return Acl(principal, ResourceType.TOPIC, name, PatternType.LITERAL, operation)


async def provide_topics(
    admin: AIOKafkaAdminClient,
    system_id: str,
    *,
    bootstrap_servers: str,
    client_options: Mapping[str, Any],
    replication_factor: int = 1,
) -> None:
    """The system's topics, and the services' rights on them, without the system's own."""
    await ensure_topics(bootstrap_servers, topics_of(system_id), replication_factor, client_options)
    await create_acls(admin, service_acls(system_id))


async def open_system(
    admin: AIOKafkaAdminClient,
    system_id: str,
    *,
    bootstrap_servers: str,
    client_options: Mapping[str, Any],
    replication_factor: int = 1,
) -> None:
    await provide_topics(
        admin,
        system_id,
        bootstrap_servers=bootstrap_servers,
        client_options=client_options,
        replication_factor=replication_factor,
    )
    await create_acls(admin, system_acls(system_id))
    log.info("opened the Kafka topics of integrated system %s", system_id)


async def close_system(admin: AIOKafkaAdminClient, system_id: str) -> None:
    await delete_acls(admin, system_acls(system_id))
    log.info("closed the Kafka topics of integrated system %s", system_id)


async def every_system(work: UnitOfWork) -> dict[str, IntegratedSystem]:
    async with work.engine.connect() as conn:
        ids = list((await conn.execute(text("SELECT system_id FROM integrated_systems"))).scalars())
        return await store.systems(conn, ids)


def changed(wanted: Mapping[str, bool], held: Mapping[str, bool]) -> dict[str, bool]:
    """The systems whose standing (open or not) differs from what the broker was last made to hold."""
    return {system_id: is_open for system_id, is_open in wanted.items() if held.get(system_id) != is_open}


async def keep_system_topics(runtime: Runtime[Any], *, region: str, interval_s: float) -> None:
    """Until cancelled: make each system's topics open or closed as the mirror says, a change within
    `interval_s`. A failed round is tried again on the next."""
    held: dict[str, bool] = {}
    while True:
        try:
            held |= await keep_round(runtime, held, region)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not bring the integrated systems' Kafka topics up to date; trying again")
        await asyncio.sleep(interval_s)


async def keep_round(runtime: Runtime[Any], held: Mapping[str, bool], region: str) -> dict[str, bool]:
    """One round: the systems whose standing changed since `held`, opened or closed; returns what took."""
    systems = await every_system(runtime.uow)
    due = changed({system_id: may_send(system, region) for system_id, system in systems.items()}, held)
    if not due:
        return {}
    settings = runtime.settings
    options = kafka.client_options(settings)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, client_id="efrikort-access-systems", **options
    )
    await admin.start()
    try:
        return await _apply(admin, due, settings, options)
    finally:
        await admin.close()


async def _apply(
    admin: AIOKafkaAdminClient, due: Mapping[str, bool], settings: ServiceSettings, options: Mapping[str, Any]
) -> dict[str, bool]:
    """Open or close each system; returns those that took, so a failure is retried next round."""
    done: dict[str, bool] = {}
    for system_id, is_open in due.items():
        try:
            if is_open:
                await open_system(
                    admin,
                    system_id,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    client_options=options,
                    replication_factor=settings.topic_replication_factor,
                )
            else:
                await close_system(admin, system_id)
            done[system_id] = is_open
        except ValueError:
            # An id no topic can be named after never gets topics; saying so once is enough.
            log.warning("integrated system %r cannot have Kafka topics: not a plain HSA-ID", system_id[:64])
            done[system_id] = is_open
        except Exception:
            log.exception("could not %s the Kafka topics of integrated system %s", _verb(is_open), system_id)
    return done


def _verb(is_open: bool) -> str:
    return "open" if is_open else "close"
