"""Publishing access grants the way the access service does, for tests and the load benchmark.

The access service owns the grants topic; until its directory is loaded, tests and `efrikort bench`
publish the grants of their own actors here, in the same envelope and under the same keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from contracts.access_events import AccessRole, CareUnitGrant, EmployeeGrant, SystemGrant, grant_key
from contracts.envelope import Envelope
from contracts.topics import ACCESS_GRANTS
from efrikort.kafka_principals import admin_client_options
from runtime.access_grants import Grant
from runtime.outbox import event_message

EXAMPLE_REGION = "Region Exempel"
"""The sample directory's region, and the one a deployment serves unless `EFRIKORT_REGION` says otherwise."""
EXAMPLE_PROVIDER = "SE2321000016-A1B2"
EXAMPLE_SYSTEM = "SE2321000016-SYS1"
EXAMPLE_UNIT = "SE2321000016-U001"
EXAMPLE_EMPLOYEE = "SE2321000016-E001"


def unit(
    care_unit: str,
    *,
    provider: str = EXAMPLE_PROVIDER,
    region: str = EXAMPLE_REGION,
    agreement: bool = True,
    active: bool = True,
) -> CareUnitGrant:
    return CareUnitGrant(
        care_unit=care_unit,
        care_provider=provider,
        region=region,
        agreement_signed=agreement,
        active=active,
        changed_at=datetime.now(UTC),
    )


def employee(
    employee_id: str,
    care_unit: str,
    *,
    role: AccessRole | None = AccessRole.USER,
    commission: bool = True,
    valid_to: datetime | None = None,
) -> EmployeeGrant:
    return EmployeeGrant(
        employee=employee_id,
        care_unit=care_unit,
        commission_active=commission,
        commission_valid_to=valid_to.date() if valid_to else None,
        role=role,
        changed_at=datetime.now(UTC),
    )


def system(
    system_id: str, *, regions: Sequence[str] = (EXAMPLE_REGION,), certified: bool = True, suspended: bool = False
) -> SystemGrant:
    return SystemGrant(
        system_id=system_id,
        name=system_id,
        certified=certified,
        suspended=suspended,
        approved_regions=list(regions),
        changed_at=datetime.now(UTC),
    )


def example_grants(system_id: str = EXAMPLE_SYSTEM) -> list[Grant]:
    """The example actors of the README and the tests: an approved system, a unit whose provider has
    signed the agreement, and an employee there with a commission and the role `EFK;Användare`."""
    return [system(system_id), unit(EXAMPLE_UNIT), employee(EXAMPLE_EMPLOYEE, EXAMPLE_UNIT)]


async def publish_grants(bootstrap: str, grants: Sequence[Grant]) -> None:
    """Publish on the compacted grants topic, enveloped and keyed as the access service does."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **admin_client_options())
    await producer.start()
    try:
        for grant in grants:
            envelope = Envelope.wrap(grant, producer="access", correlation_id=str(uuid.uuid4()))
            message = event_message(ACCESS_GRANTS, grant_key(grant), envelope)
            await producer.send_and_wait(
                message.topic,
                message.value,
                key=message.key,
                headers=[(k, v.encode()) for k, v in message.headers.items()],
            )
    finally:
        await producer.stop()
