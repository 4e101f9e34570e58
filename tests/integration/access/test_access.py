"""Access against real Kafka and PostgreSQL: the mirror fed by file and by feed, the grants it
publishes, decisions with their reasons, the audit trail, and patient exit."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from access import mirror
from access.directory import parse_export
from contracts.access_events import (
    AccessRole,
    AccessRoleChanged,
    AuditEntry,
    CommissionChanged,
    EmployeeChanged,
)
from contracts.clock import today_in_sweden
from contracts.envelope import Envelope, Event
from contracts.topics import ACCESS_GRANTS, AGREEMENTS, AUDIT, DIRECTORY, PATIENT_MEMBERSHIP, Topic
from efrikort.infra.stack import InfraEndpoints
from runtime.http import patient_key_of
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.integration.access.conftest import CENTRAL_SUPPORT, CENTRAL_UNIT, SAMPLE_DIRECTORY, RunningAccess
from tests.kafka_clients import TopicReader, caught_up, eventually, plain_producer, reading
from tests.submissions import new_patient

USER = {"X-HSA-ID": "SE2321000016-E001"}


async def publish(infra: InfraEndpoints, topic: Topic, key: str, payload: Event) -> None:
    """As the HSA feed or another service would: an enveloped event with its id in the headers."""
    envelope = Envelope.wrap(payload, producer="test-feed", correlation_id=str(uuid.uuid4()))
    async with plain_producer(infra.kafka_bootstrap_servers) as producer:
        await producer.send_and_wait(
            topic.name,
            envelope.model_dump_json().encode(),
            key=key.encode(),
            headers=[("event_id", str(envelope.event_id).encode())],
        )


async def import_sample(access: RunningAccess, raw: bytes | None = None) -> mirror.ImportSummary:
    """What `efrikort import-directory` does: straight into the mirror, no caller needed."""
    export = parse_export(raw if raw is not None else SAMPLE_DIRECTORY.read_bytes())
    async with access.runtime.uow.begin(correlation_id="test-import") as tx:
        return await mirror.import_export(tx, export)


def grants_from(reader: TopicReader, access: RunningAccess, key: str) -> list[dict[str, Any]]:
    """The grants this access instance published under `key`, oldest first."""
    return [
        json.loads(r.value)["payload"]
        for r in reader.seen
        if r.key == key.encode() and dict(r.headers).get("producer") == access.name.encode()
    ]


async def ask(access: RunningAccess, **question: Any) -> dict[str, Any]:
    response = await access.http.post("/v1/decisions", json=question, headers=CENTRAL_SUPPORT)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_importing_the_sample_directory_publishes_grants_and_importing_it_again_changes_nothing(
    infra: InfraEndpoints, access: RunningAccess
) -> None:
    # What earlier tests of the session put on the directory and agreement feeds is applied first, not
    # between imports (an agreement event taken in between publishes a grant on the second import).
    await caught_up(infra.kafka_bootstrap_servers, f"{access.name}-directory", DIRECTORY.name)
    await caught_up(infra.kafka_bootstrap_servers, f"{access.name}-agreements", AGREEMENTS.name)
    async with reading(infra.kafka_bootstrap_servers, ACCESS_GRANTS.name) as grants:
        first = await import_sample(access)
        await grants.wait_for(
            lambda r: (
                r.key == b"employee/SE2321000016-E001/SE2321000016-U001"
                and dict(r.headers).get("producer") == access.name.encode()
            )
        )
        await grants.drain(0.5)
        before_again = len(grants.seen)
        again = await import_sample(access)
        await grants.drain(1.0)
    republished = [
        (r.key, json.loads(r.value)["payload"])
        for r in grants.seen[before_again:]
        if dict(r.headers).get("producer") == access.name.encode()
    ]

    assert first.grants_published > 0
    assert again.grants_published == 0, f"published again: {republished}"
    [employee] = grants_from(grants, access, "employee/SE2321000016-E001/SE2321000016-U001")
    assert (employee["commission_active"], employee["role"]) == (True, "EFK;Användare")
    [unit] = grants_from(grants, access, "unit/SE2321000016-U001")
    assert (unit["care_provider"], unit["region"], unit["agreement_signed"], unit["active"]) == (
        "SE2321000016-P001",
        "Region Exempel",
        True,
        True,
    )
    [system] = grants_from(grants, access, "system/SE2321000016-SYS1")
    assert system["approved_regions"] == ["Region Exempel"] and system["certified"] and not system["suspended"]


async def test_the_decision_endpoint_answers_with_the_reason_when_it_is_no(access: RunningAccess) -> None:
    await import_sample(access)
    register = "fee.register"
    cases = [
        ({"hsa_id": "SE2321000016-E001", "care_unit": "SE2321000016-U001", "system_id": "SE2321000016-SYS1"}, None),
        ({"hsa_id": "SE2321000016-E002", "care_unit": "SE2321000016-U001"}, "role_not_permitted"),
        ({"hsa_id": "SE2321000016-E006", "care_unit": "SE2321000016-U002"}, "no_role"),
        ({"hsa_id": "SE2321000016-E007", "care_unit": "SE2321000016-U002"}, "no_commission"),
        ({"hsa_id": "SE2321000016-E001", "care_unit": "SE2321000016-U004"}, "no_agreement"),
        (
            {"hsa_id": "SE2321000016-E001", "care_unit": "SE2321000016-U001", "system_id": "SE2321000016-SYS2"},
            "system_not_approved",
        ),
        (
            {"hsa_id": "SE2321000016-E001", "care_unit": "SE2321000016-U001", "target_unit": "SE2321000016-U003"},
            "other_provider",
        ),
        (
            {"hsa_id": "SE2321000016-E003", "care_unit": "SE2321000016-U900", "target_unit": "SE2321000016-U005"},
            "other_region",
        ),
        ({"hsa_id": "SE2321000016-E999", "care_unit": "SE2321000016-U001"}, "no_commission"),
        ({"hsa_id": "SE2321000016-E001", "care_unit": "SE2321000016-U777"}, "unknown_care_unit"),
        # Region Annan's user, at a unit whose provider signed Region Annan's agreement: not this deployment's.
        ({"hsa_id": "SE2321000016-E008", "care_unit": "SE2321000016-U005"}, "region_not_served"),
    ]
    for question, denial in cases:
        answer = await ask(access, action=register, **question)
        assert (answer["allowed"], answer["denial"]) == (denial is None, denial), question
        if denial:
            assert answer["message"] and answer["field"]


async def test_without_a_trusted_identity_a_decision_is_refused_as_a_problem(access: RunningAccess) -> None:
    response = await access.http.post(
        "/v1/decisions",
        json={"hsa_id": "SE2321000016-E001", "action": "fee.register", "care_unit": "SE2321000016-U001"},
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


async def test_a_full_import_without_a_commission_takes_its_rights_at_once(access: RunningAccess) -> None:
    await import_sample(access)
    question = {"hsa_id": "SE2321000016-E005", "care_unit": "SE2321000016-U003", "action": "fee.register"}
    assert (await ask(access, **question))["allowed"]

    export = json.loads(SAMPLE_DIRECTORY.read_bytes())
    export["commissions"] = [c for c in export["commissions"] if c["employee"] != "SE2321000016-E005"]
    summary = await import_sample(access, json.dumps(export).encode())

    assert summary.grants_published == 1
    assert (await ask(access, **question))["denial"] == "no_commission"
    [published] = await access.rows(
        "SELECT content FROM {schema}.published_grants WHERE key = 'employee/SE2321000016-E005/SE2321000016-U003'"
    )
    assert json.loads(published["content"])["commission_active"] is False
    await import_sample(access)
    assert (await ask(access, **question))["allowed"]


async def test_a_commission_ended_on_the_directory_feed_is_republished_as_inactive(
    infra: InfraEndpoints, access: RunningAccess
) -> None:
    await import_sample(access)
    employee, unit = f"SE2321000016-T{uuid.uuid4().hex[:8]}", "SE2321000016-U001"
    commission = CommissionChanged(
        commission_id=f"C-{employee}",
        employee=employee,
        care_unit=unit,
        purpose="Vård och behandling",
        valid_from=date(2020, 1, 1),
    )
    key = f"employee/{employee}/{unit}".encode()
    mine = access.name.encode()
    async with reading(infra.kafka_bootstrap_servers, ACCESS_GRANTS.name) as grants:
        await publish(infra, DIRECTORY, employee, EmployeeChanged(employee=employee, name="Test"))
        await publish(infra, DIRECTORY, employee, commission)
        await publish(
            infra, DIRECTORY, employee, AccessRoleChanged(employee=employee, care_unit=unit, role=AccessRole.USER)
        )
        await grants.wait_for(
            lambda r: (
                r.key == key
                and dict(r.headers).get("producer") == mine
                and json.loads(r.value)["payload"]["role"] == "EFK;Användare"
            ),
            timeout=20,
        )
        await publish(infra, DIRECTORY, employee, commission.model_copy(update={"removed": True}))
        await grants.wait_for(
            lambda r: (
                r.key == key
                and dict(r.headers).get("producer") == mine
                and not json.loads(r.value)["payload"]["commission_active"]
            ),
            timeout=20,
        )

    answer = await ask(access, hsa_id=employee, care_unit=unit, action="fee.register")
    assert answer["denial"] == "no_commission"


async def test_a_commission_that_runs_out_loses_its_rights_the_next_day_without_any_new_fact(
    access: RunningAccess,
) -> None:
    await import_sample(access)
    today = today_in_sweden()
    employee, unit = f"SE2321000016-T{uuid.uuid4().hex[:8]}", "SE2321000016-U001"
    async with access.runtime.uow.begin(correlation_id="test") as tx:
        await mirror.apply_directory_change(tx, EmployeeChanged(employee=employee))
        await mirror.apply_directory_change(
            tx, AccessRoleChanged(employee=employee, care_unit=unit, role=AccessRole.USER)
        )
        await mirror.apply_directory_change(
            tx,
            CommissionChanged(
                commission_id=f"C-{employee}",
                employee=employee,
                care_unit=unit,
                purpose="Administration",
                valid_from=today - timedelta(days=30),
                valid_to=today,
            ),
        )
    key = f"employee/{employee}/{unit}"

    async with access.runtime.uow.begin(correlation_id="test") as tx:
        assert await mirror.sweep(tx, today=today) == 0
    async with access.runtime.uow.begin(correlation_id="test") as tx:
        assert await mirror.sweep(tx, today=today + timedelta(days=1)) >= 1
    [published] = await access.rows("SELECT content FROM {schema}.published_grants WHERE key = $1", key)
    assert json.loads(published["content"])["commission_active"] is False


async def test_terminating_an_agreement_stops_the_providers_units(access: RunningAccess) -> None:
    await import_sample(access)
    question = {"hsa_id": "SE2321000016-E005", "care_unit": "SE2321000016-U003", "action": "fee.register"}
    terminate = await access.http.post(
        "/v1/agreements/SE2321000016-P002/termination",
        headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT},
        json={"terminated_on": today_in_sweden().isoformat()},
    )
    assert terminate.status_code == 200, terminate.text
    assert terminate.json()["grants_published"] == 1
    assert (await ask(access, **question))["denial"] == "no_agreement"

    refused = await access.http.post(
        "/v1/agreements/SE2321000016-P002/signing",
        headers={**USER, "X-Care-Unit": "SE2321000016-U001"},
        json={"region": "Region Exempel", "signed_on": "2025-01-01"},
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("role_not_permitted")
    await import_sample(access)
    assert (await ask(access, **question))["allowed"]


async def test_suspending_a_system_is_published_and_refuses_what_comes_through_it(access: RunningAccess) -> None:
    await import_sample(access)
    question = {
        "hsa_id": "SE2321000016-E001",
        "care_unit": "SE2321000016-U001",
        "action": "fee.register",
        "system_id": "SE2321000016-SYS1",
    }
    response = await access.http.put(
        "/v1/systems/SE2321000016-SYS1",
        headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT},
        json={
            "name": "Journal Exempel",
            "certified": True,
            "suspended": True,
            "approved_regions": ["Region Exempel"],
        },
    )
    assert response.status_code == 200, response.text
    assert (await ask(access, **question))["denial"] == "system_not_approved"
    await import_sample(access)
    assert (await ask(access, **question))["allowed"]


async def test_a_directory_file_with_a_mistake_is_refused_naming_the_field(access: RunningAccess) -> None:
    await import_sample(access)
    export = json.loads(SAMPLE_DIRECTORY.read_bytes())
    export["commissions"][2]["valid_from"] = "2025-13-01"
    response = await access.http.post(
        "/v1/directory/imports",
        headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT},
        content=json.dumps(export).encode(),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "commissions.2.valid_from"

    export = json.loads(SAMPLE_DIRECTORY.read_bytes())
    export["access_roles"][0]["employee"] = "SE2321000016-NOBODY"
    response = await access.http.post(
        "/v1/directory/imports",
        headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT},
        content=json.dumps(export).encode(),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "access_roles.0.employee"


def audit_entry(patient_key: str, actor: str, action: str) -> AuditEntry:
    return AuditEntry(
        patient_key=patient_key,
        actor=actor,
        system_id="SE2321000016-SYS1",
        care_unit="SE2321000016-U001",
        action=action,
        service="registration",
        subject="fee-1",
        occurred_at=datetime.now(UTC),
    )


async def test_central_support_sees_who_looked_at_a_patient_and_the_exit_keeps_the_trail_and_is_itself_audited(
    infra: InfraEndpoints, access: RunningAccess
) -> None:

    await import_sample(access)
    patient = new_patient()
    key = patient_key_of(patient, DEV_PATIENT_KEY_SECRET)
    entry = audit_entry(key, "SE2321000016-E001", "fee.registered")
    await publish(infra, AUDIT, key, entry)
    await publish(infra, AUDIT, key, audit_entry(key, "SE2321000016-E002", "protection.read"))

    async def stored() -> int:
        return len(await access.rows("SELECT 1 FROM {schema}.audit_entries WHERE patient_key = $1", key))

    assert await eventually(lambda: _at_least(stored, 2), timeout=20)
    trail = await access.http.post(
        "/v1/audit/trail", headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT}, json={"patient_id": patient}
    )
    assert trail.status_code == 200, trail.text
    assert {(e["actor"], e["action"]) for e in trail.json()} == {
        ("SE2321000016-E001", "fee.registered"),
        ("SE2321000016-E002", "protection.read"),
    }

    refused = await access.http.post(
        "/v1/audit/trail", headers={**USER, "X-Care-Unit": "SE2321000016-U001"}, json={"patient_id": patient}
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("role_not_permitted")
    assert patient not in refused.text

    # The trail read is itself logged; wait for that entry, so the exit below has all three to keep.
    assert await eventually(lambda: _at_least(stored, 3), timeout=20)
    not_allowed = await access.http.post(
        "/v1/patients/exit", headers={**USER, "X-Care-Unit": "SE2321000016-U001"}, json={"patient_id": patient}
    )
    assert not_allowed.status_code == 403

    async with reading(infra.kafka_bootstrap_servers, PATIENT_MEMBERSHIP.name) as membership:
        exit_ = await access.http.post(
            "/v1/patients/exit", headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT}, json={"patient_id": patient}
        )
        assert exit_.status_code == 202, exit_.text
        [record] = await membership.wait_for(lambda r: r.key == key.encode(), timeout=20)
    event = json.loads(record.value)
    assert event["event_type"] == "PatientExited"
    assert event["payload"]["requested_by"] == "SE2321000016-E004"

    # The Patient Data Act keeps who read or changed the patient's data, and the exit is on record too.
    assert await eventually(lambda: _at_least(stored, 4), timeout=20)
    assert await eventually(lambda: _exit_obeyed(access, key), timeout=20)
    reentry = await access.http.post(
        "/v1/patients/reentry", headers={**CENTRAL_SUPPORT, "X-Care-Unit": CENTRAL_UNIT}, json={"patient_id": patient}
    )
    assert reentry.status_code == 202, reentry.text
    assert await eventually(lambda: _at_least(stored, 5), timeout=20)
    actions = await access.rows(
        "SELECT action, actor FROM {schema}.audit_entries WHERE patient_key = $1 ORDER BY occurred_at", key
    )
    assert [(a["action"], a["actor"]) for a in actions] == [
        ("fee.registered", "SE2321000016-E001"),
        ("protection.read", "SE2321000016-E002"),
        ("audit.read", "SE2321000016-E004"),
        ("patient.exit", "SE2321000016-E004"),
        ("patient.reentry", "SE2321000016-E004"),
    ]


async def _exit_obeyed(access: RunningAccess, key: str) -> bool:
    return bool(await access.rows("SELECT 1 FROM {schema}.exited_patients WHERE patient_key = $1", key))


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count() >= n)


async def test_a_user_acting_for_a_unit_of_another_region_may_read_nothing_about_a_patient(
    access: RunningAccess,
) -> None:
    await import_sample(access)
    elsewhere = {"X-HSA-ID": "SE2321000016-E008", "X-Care-Unit": "SE2321000016-U005"}
    for action in ("protection.read", "contact.change", "fee.register", "audit.read", "patient.exit"):
        answer = await ask(access, hsa_id="SE2321000016-E008", care_unit="SE2321000016-U005", action=action)
        assert (answer["allowed"], answer["denial"]) == (False, "region_not_served"), action
    trail = await access.http.post("/v1/audit/trail", headers=elsewhere, json={"patient_id": new_patient()})
    assert trail.status_code == 403 and trail.json()["code"] == "region_not_served"
