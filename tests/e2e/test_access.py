"""Access end to end, the services as processes: patient exit empties every service's schema but for
what the law keeps (the audit log, and the record of the exit), and a commission ended in the directory
feed stops that employee's next submission within a second."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest

from contracts.access_events import AccessRole, AccessRoleChanged, CommissionChanged, EmployeeChanged
from contracts.envelope import Envelope, Event
from contracts.topics import DIRECTORY, Topic
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import SERVICE_PORTS, ServiceProcess
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.kafka_clients import eventually, plain_producer, reading
from tests.submissions import new_patient, outcomes_topic, submission, submissions_topic

pytestmark = pytest.mark.e2e

CENTRAL_SUPPORT = {"X-HSA-ID": "SE2321000016-E004", "Content-Type": "application/json"}
CENTRAL_UNIT = "SE2321000016-U900"


def post(url: str, body: dict[str, object], headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


KEPT_BY_LAW = ("audit_entries", "exited_patients")
"""Access's audit log (who read or changed the patient's data: the Patient Data Act keeps it), and each
service's record that the patient has left (so that events in flight are ignored)."""


async def rows_about(db: asyncpg.Connection, key: str, identity_number: str) -> dict[str, int]:
    """Every row in any service's schema but the tables the law keeps that has the patient's key, or the
    identity number in a text column of any table at all."""
    found: dict[str, int] = {}
    schemas = list(SERVICE_PORTS)
    for table in await db.fetch(
        "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'patient_key' "
        "AND table_schema = ANY($1::text[]) AND NOT table_name = ANY($2::text[])",
        schemas,
        list(KEPT_BY_LAW),
    ):
        name = f'"{table["table_schema"]}"."{table["table_name"]}"'
        if count := await db.fetchval(f"SELECT count(*) FROM {name} WHERE patient_key = $1", key):
            found[name] = count
    digits = identity_number.replace("-", "")
    for column in await db.fetch(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = ANY($1::text[]) AND data_type IN ('text', 'character varying', 'jsonb', 'json')",
        schemas,
    ):
        name = f'"{column["table_schema"]}"."{column["table_name"]}"'
        value = f'"{column["column_name"]}"::text'
        if count := await db.fetchval(
            f"SELECT count(*) FROM {name} WHERE {value} LIKE $1 OR {value} LIKE $2",
            f"%{identity_number}%",
            f"%{digits}%",
        ):
            found[f"{name}.{column['column_name']}"] = count
    return found


async def test_after_a_patients_exit_no_row_about_the_patient_remains_in_any_schema(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    patient = new_patient()
    key = patient_key(patient.replace("-", ""), DEV_PATIENT_KEY_SECRET)
    fees = [submission(patient_id=patient, visit_date=f"2025-0{month}-10", fee_amount=400) for month in (4, 5, 6, 7)]
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic()) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        for fee in fees:
            await producer.send_and_wait(
                submissions_topic(), json.dumps(fee).encode(), key=fee["submission_id"].encode()
            )
        for fee in fees:
            await outcomes.wait_for(lambda r, fee=fee: r.key == fee["submission_id"].encode(), timeout=30)

    async def held() -> dict[str, int]:
        return await rows_about(db, key, patient)

    # Let every service finish with the fees (and the audit entries they cause) before the exit.
    before = await held()
    while True:
        await asyncio.sleep(1.0)
        if (after := await held()) == before:
            break
        before = after
    assert before, "the fees left no row about the patient: the test would prove nothing"

    status, _ = post(
        f"{services['access'].url}/v1/patients/exit",
        {"patient_id": patient},
        {**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT},
    )
    assert status == 202

    async def emptied() -> bool:
        return not await held()

    assert await eventually(emptied, timeout=30), await held()
    actions = await db.fetch("SELECT action FROM access.audit_entries WHERE patient_key = $1", key)
    assert {"fee.registered", "patient.exit"} <= {a["action"] for a in actions}
    for schema in SERVICE_PORTS:
        assert await db.fetchval(f"SELECT 1 FROM {schema}.exited_patients WHERE patient_key = $1", key), schema


async def test_a_fee_for_a_patient_who_has_left_is_refused_and_counts_again_after_re_entry(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], db: asyncpg.Connection
) -> None:
    patient = new_patient()
    key = patient_key(patient.replace("-", ""), DEV_PATIENT_KEY_SECRET)
    central = {**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT}
    assert post(f"{services['access'].url}/v1/patients/exit", {"patient_id": patient}, central)[0] == 202

    async def gone_everywhere() -> bool:
        return all(
            [await db.fetchval(f"SELECT 1 FROM {s}.exited_patients WHERE patient_key = $1", key) for s in SERVICE_PORTS]
        )

    assert await eventually(gone_everywhere, timeout=30)
    after_exit, after_reentry = submission(patient_id=patient), submission(patient_id=patient)
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic()) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(
            submissions_topic(), json.dumps(after_exit).encode(), key=after_exit["submission_id"].encode()
        )
        [refused] = await outcomes.wait_for(lambda r: r.key == after_exit["submission_id"].encode(), timeout=30)

        assert post(f"{services['access'].url}/v1/patients/reentry", {"patient_id": patient}, central)[0] == 202

        async def back_everywhere() -> bool:
            return not any(
                [
                    await db.fetchval(f"SELECT 1 FROM {s}.exited_patients WHERE patient_key = $1", key)
                    for s in SERVICE_PORTS
                ]
            )

        assert await eventually(back_everywhere, timeout=30)
        await producer.send_and_wait(
            submissions_topic(), json.dumps(after_reentry).encode(), key=after_reentry["submission_id"].encode()
        )
        [counted] = await outcomes.wait_for(lambda r: r.key == after_reentry["submission_id"].encode(), timeout=30)

    refusal = json.loads(refused.value)
    assert (refusal["status"], [r["code"] for r in refusal["reasons"]]) == ("rejected", ["patient_exited"])
    assert json.loads(counted.value)["status"] == "accepted"


async def publish(infra: InfraEndpoints, topic: Topic, key: str, payload: Event) -> float:
    envelope = Envelope.wrap(payload, producer="hsa-feed", correlation_id=str(uuid.uuid4()))
    async with plain_producer(infra.kafka_bootstrap_servers) as producer:
        await producer.send_and_wait(
            topic.name,
            envelope.model_dump_json().encode(),
            key=key.encode(),
            headers=[("event_id", str(envelope.event_id).encode())],
        )
    return time.monotonic()


async def registration_holds(database_url: str, key: str, *, commission_active: bool) -> None:
    """Wait until registration's grants read model holds the employee's grant in the given state, so
    what the test sends next is decided with it."""
    conn = await asyncpg.connect(database_url)
    try:

        async def held() -> bool:
            grant = await conn.fetchval('SELECT "grant" FROM registration.access_grants WHERE key = $1', key)
            if grant is None:
                return False
            grant = json.loads(grant) if isinstance(grant, str) else grant
            return grant.get("role") is not None and grant.get("commission_active") is commission_active

        assert await eventually(held, timeout=30), f"registration's read model never held {key} as wanted"
    finally:
        await conn.close()


async def test_a_commission_ended_in_the_directory_feed_rejects_the_employees_next_submission_within_a_second(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    employee, unit = f"SE2321000016-T{uuid.uuid4().hex[:8]}", "SE2321000016-U001"
    commission = CommissionChanged(
        commission_id=f"C-{employee}",
        employee=employee,
        care_unit=unit,
        purpose="Vård och behandling",
        valid_from=date(2020, 1, 1),
    )
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic()) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await publish(infra, DIRECTORY, employee, EmployeeChanged(employee=employee, name="Test"))
        await publish(infra, DIRECTORY, employee, commission)
        await publish(
            infra, DIRECTORY, employee, AccessRoleChanged(employee=employee, care_unit=unit, role=AccessRole.USER)
        )
        await registration_holds(infra.database_url, f"employee/{employee}/{unit}", commission_active=True)

        async def submit() -> tuple[float, dict[str, Any]]:
            probe = submission(patient_id=new_patient(), registered_by=employee, care_unit=unit)
            sent = time.monotonic()
            await producer.send_and_wait(
                submissions_topic(), json.dumps(probe).encode(), key=probe["submission_id"].encode()
            )
            await outcomes.wait_for(lambda r: r.key == probe["submission_id"].encode(), timeout=30)
            [outcome] = outcomes.with_key(probe["submission_id"])
            return sent, outcome

        _, before = await submit()
        assert before["status"] == "accepted", before

        ended = await publish(infra, DIRECTORY, employee, commission.model_copy(update={"removed": True}))
        # The employee keeps registering; from some moment on, each submission is refused.
        while True:
            sent, outcome = await submit()
            if outcome["status"] == "rejected" or sent - ended > 5:
                break
            await asyncio.sleep(0.05)

    assert outcome["status"] == "rejected", outcome
    assert [r["code"] for r in outcome["reasons"]] == ["no_commission"]
    # Sent within a second of the commission's end in the directory feed, and already refused.
    assert sent - ended < 1.0, f"submissions were still accepted {sent - ended:.2f}s after the commission ended"
