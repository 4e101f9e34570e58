"""Every refusal of a fee, over Kafka and over HTTP, names its code and field; the next valid fee is
still registered. The same submission id twice gives one fee and one outcome."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import DROP, as_caller, post_fee, valid_fee
from tests.kafka_clients import eventually, plain_producer, reading
from tests.submissions import outcomes_topic, submissions_topic

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Refusal:
    """A submission that must be refused, how it is made, and what the refusal says."""

    code: str
    field: str | None
    status: int
    """The HTTP status of the problem details."""
    change: Callable[[Directory], dict[str, Any]] = lambda d: {}
    raw: Callable[[dict[str, Any]], bytes] | None = None
    """The bytes sent instead of the fee's JSON."""
    through: Callable[[Directory], str] | None = None
    """HTTP: the system the caller comes through (X-System-ID)."""
    caller: Callable[[Directory], str] | None = None
    """HTTP: who calls, when not the fee's `registered_by`."""
    channels: tuple[str, ...] = field(default=("kafka", "http"))

    def fee(self, directory: Directory) -> dict[str, Any]:
        return valid_fee(directory, **self.change(directory))

    def body(self, fee: dict[str, Any]) -> bytes:
        return self.raw(fee) if self.raw else json.dumps(fee).encode()


REFUSALS = {
    "not JSON": Refusal(
        "malformed_json",
        None,
        400,
        raw=lambda fee: f'{{"submission_id": "{fee["submission_id"]}", "fee_amount": 3'.encode(),
    ),
    "too large": Refusal("too_large", None, 413, raw=lambda fee: json.dumps({**fee, "note": "x" * 20_000}).encode()),
    "a field missing": Refusal("missing_field", "care_unit", 422, lambda d: {"care_unit": DROP}),
    "a field unknown": Refusal("unknown_field", "colour", 422, lambda d: {"colour": "blue"}),
    "an amount as text": Refusal("wrong_type", "fee_amount", 422, lambda d: {"fee_amount": "300"}),
    "an amount with öre": Refusal("wrong_type", "fee_amount", 422, lambda d: {"fee_amount": 300.5}),
    "a source unheard of": Refusal("invalid_value", "source", 422, lambda d: {"source": "fax"}),
    "no real visit date": Refusal("invalid_value", "visit_date", 422, lambda d: {"visit_date": "2025-02-30"}),
    "a wrong check digit": Refusal("invalid_patient_id", "patient_id", 422, lambda d: {"patient_id": "19850412-1231"}),
    "no real birth date": Refusal("invalid_patient_id", "patient_id", 422, lambda d: {"patient_id": "19850231-1236"}),
    "a visit in the future": Refusal("future_visit_date", "visit_date", 422, lambda d: {"visit_date": "2099-01-01"}),
    "a negative fee": Refusal("negative_amount", "fee_amount", 422, lambda d: {"fee_amount": -1, "paid_amount": None}),
    "paid above the fee": Refusal(
        "paid_above_fee", "paid_amount", 422, lambda d: {"fee_amount": 100, "paid_amount": 200}
    ),
    "a fee type not in the catalogue": Refusal("unknown_fee_type", "fee_type", 422, lambda d: {"fee_type": "massage"}),
    "a receipt without issuer": Refusal(
        "missing_receipt_issuer", "receipt_issuer", 422, lambda d: {"source": "receipt"}
    ),
    "a unit nobody knows": Refusal("unknown_care_unit", "care_unit", 403, lambda d: {"care_unit": d.id("U-NOWHERE")}),
    "a unit that has closed": Refusal("unknown_care_unit", "care_unit", 403, lambda d: {"care_unit": d.closed_unit}),
    "a provider without agreement": Refusal(
        "no_agreement", "care_unit", 403, lambda d: {"care_unit": d.unit_without_agreement}
    ),
    "a system not approved": Refusal(
        "system_not_approved",
        "system_id",
        403,
        lambda d: {"system_id": d.unapproved_system},
        through=lambda d: d.unapproved_system,
    ),
    "an employee without commission": Refusal(
        "no_commission", "registered_by", 403, lambda d: {"registered_by": d.without_commission}
    ),
    "a commission that has ended": Refusal(
        "no_commission", "registered_by", 403, lambda d: {"registered_by": d.commission_ended}
    ),
    "an employee without role": Refusal("no_role", "registered_by", 403, lambda d: {"registered_by": d.without_role}),
    "a role that may only look": Refusal(
        "role_not_permitted", "registered_by", 403, lambda d: {"registered_by": d.limited_user}
    ),
    "in someone else's name": Refusal(
        "registered_by_not_caller", "registered_by", 403, caller=lambda d: d.colleague, channels=("http",)
    ),
    "naming another system": Refusal(
        "system_not_caller",
        "system_id",
        403,
        lambda d: {"system_id": d.id("SYS-X")},
        through=lambda d: d.system,
        channels=("http",),
    ),
}


def codes(outcome: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["code"], r.get("field")) for r in outcome.get("reasons", [])]


@pytest.mark.parametrize("case", [name for name, r in REFUSALS.items() if "kafka" in r.channels])
async def test_over_kafka_a_refused_submission_is_answered_with_its_code_and_field_and_the_next_is_registered(
    case: str, infra: InfraEndpoints, directory: Directory
) -> None:
    refusal = REFUSALS[case]
    bad, good = refusal.fee(directory), valid_fee(directory)
    # Each system sends on its own topic and reads its own outcomes: the unapproved one too.
    sender = bad["system_id"]
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(sender)) as refusals,
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(submissions_topic(sender), refusal.body(bad), key=bad["submission_id"].encode())
        await producer.send_and_wait(
            submissions_topic(directory.system), json.dumps(good).encode(), key=good["submission_id"].encode()
        )
        await refusals.wait_for(lambda r: r.key == bad["submission_id"].encode())
        await outcomes.wait_for(lambda r: r.key == good["submission_id"].encode())

    [refused] = refusals.with_key(bad["submission_id"])
    assert refused["status"] == "rejected"
    assert codes(refused) == [(refusal.code, refusal.field)]
    [accepted] = outcomes.with_key(good["submission_id"])
    assert accepted["status"] == "accepted" and accepted["amount_due"] == good["fee_amount"]


@pytest.mark.parametrize("case", [name for name, r in REFUSALS.items() if "http" in r.channels])
async def test_over_http_a_refused_fee_is_a_problem_naming_code_and_field_and_the_next_is_registered(
    case: str, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    refusal = REFUSALS[case]
    bad = refusal.fee(directory)
    caller = refusal.caller(directory) if refusal.caller else bad.get("registered_by", directory.user)
    # Sent through the system the fee names (the body is sent as bytes, which `post_fee` does not read).
    through = refusal.through(directory) if refusal.through else bad.get("system_id")

    response = await post_fee(registration_http, refusal.body(bad), caller=caller, system_id=through)

    assert response.status_code == refusal.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["code"], problem.get("field")) == (refusal.status, refusal.code, refusal.field)
    assert {"type", "title", "detail"} <= problem.keys()
    assert codes(problem) == [(refusal.code, refusal.field)]

    good = valid_fee(directory)
    answer = await post_fee(registration_http, good)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"
    assert answer.json()["amount_due"] == good["fee_amount"]


async def test_over_http_the_answer_carries_the_amount_due_and_the_protection_summary(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    fee = valid_fee(directory, fee_amount=300, paid_amount=300)
    response = await post_fee(registration_http, fee)
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert (outcome["submission_id"], outcome["status"], outcome["amount_due"]) == (
        fee["submission_id"],
        "accepted",
        300,
    )
    assert outcome["protection"]["sum"] == 300 and outcome["protection"]["remaining"] == 1150


async def test_a_new_fee_gets_an_id_that_sorts_after_the_fees_registered_before_it(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    """Fee ids are time ordered (UUID version 7), so a year of fees inserts at the right edge of the
    indexes over them, not on a random page of millions (`contracts.ids`)."""
    ids = []
    for _ in range(3):
        response = await post_fee(registration_http, valid_fee(directory))
        assert response.status_code == 200, response.text
        ids.append(uuid.UUID(response.json()["fee_id"]))
        await asyncio.sleep(0.002)
    assert [fee_id.version for fee_id in ids] == [7, 7, 7]
    assert ids == sorted(ids)


async def test_without_a_trusted_identity_nothing_is_registered(
    registration_http: httpx.AsyncClient, directory: Directory
) -> None:
    response = await registration_http.post("/v1/fees", json=valid_fee(directory))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_used_submission_id_with_other_content_is_a_conflict_and_the_first_fee_stands(
    infra: InfraEndpoints, directory: Directory, registration_http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    first = valid_fee(directory, fee_amount=200, paid_amount=200)
    changed = {**first, "fee_amount": 250}
    after = valid_fee(directory)
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        for fee in (first, changed, after):
            await producer.send_and_wait(
                submissions_topic(directory.system), json.dumps(fee).encode(), key=fee["submission_id"].encode()
            )
        await outcomes.wait_for(lambda r: r.key == first["submission_id"].encode(), count=2)
        await outcomes.wait_for(lambda r: r.key == after["submission_id"].encode())

    answers = outcomes.with_key(first["submission_id"])
    assert sorted(a["status"] for a in answers) == ["accepted", "rejected"]
    assert [codes(a) for a in answers if a["status"] == "rejected"] == [[("submission_conflict", "submission_id")]]
    assert outcomes.with_key(after["submission_id"])[0]["status"] == "accepted"

    over_http = await post_fee(registration_http, {**first, "fee_amount": 260})
    assert over_http.status_code == 409
    assert over_http.json()["code"] == "submission_conflict"
    rows = await db.fetch(
        "SELECT fee_amount FROM registration.fee_versions WHERE submission_id = $1", first["submission_id"]
    )
    assert [row["fee_amount"] for row in rows] == [200]

    # The conflict did not replace the fee's outcome: polling still gives the accepted one.
    # (Registration takes the outcome in from Kafka on its own; the test may have read it first.)
    async def answered() -> httpx.Response | None:
        response = await registration_http.get(
            f"/v1/submissions/{first['submission_id']}/outcome", headers=as_caller(directory.user, directory.system)
        )
        return response if response.status_code == 200 else None

    polled = await eventually(answered, timeout=15)
    assert polled is not None and polled.json()["status"] == "accepted"


async def test_a_resent_submission_gets_the_same_outcome_and_makes_no_second_fee(
    infra: InfraEndpoints, directory: Directory, db: asyncpg.Connection
) -> None:
    fee = valid_fee(directory)
    key = fee["submission_id"].encode()
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(submissions_topic(directory.system), json.dumps(fee).encode(), key=key)
        await outcomes.wait_for(lambda r: r.key == key)
        await producer.send_and_wait(submissions_topic(directory.system), json.dumps(fee).encode(), key=key)
        await outcomes.wait_for(lambda r: r.key == key, count=2)

    first, again = outcomes.with_key(fee["submission_id"])
    assert first == again and first["status"] == "accepted"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM registration.fee_versions WHERE submission_id = $1", fee["submission_id"]
        )
        == 1
    )


async def test_fifty_identical_submissions_at_once_over_http_make_exactly_one_fee(
    directory: Directory, registration_http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    fee = valid_fee(directory)
    answers = await asyncio.gather(*(post_fee(registration_http, fee) for _ in range(50)))

    assert {a.status_code for a in answers} == {200}, {a.status_code for a in answers}
    assert len({a.json()["fee_id"] for a in answers}) == 1
    assert len({a.json()["amount_due"] for a in answers}) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM registration.fee_versions WHERE submission_id = $1", fee["submission_id"]
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM protection.fees WHERE submission_id = $1", fee["submission_id"]) == 1


async def test_fifty_identical_submissions_at_once_over_kafka_make_exactly_one_fee(
    infra: InfraEndpoints, directory: Directory, db: asyncpg.Connection
) -> None:
    fee = valid_fee(directory)
    key = fee["submission_id"].encode()
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await asyncio.gather(
            *[
                await producer.send(submissions_topic(directory.system), json.dumps(fee).encode(), key=key)
                for _ in range(50)
            ]
        )
        await outcomes.wait_for(lambda r: r.key == key)
        await outcomes.drain(2)

    answers = outcomes.with_key(fee["submission_id"])
    assert {a["status"] for a in answers} == {"accepted"}
    assert len({a["fee_id"] for a in answers}) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM registration.fee_versions WHERE submission_id = $1", fee["submission_id"]
        )
        == 1
    )
