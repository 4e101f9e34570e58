"""Odd but plausible submissions, as a careless or hostile integrator sends them with a plain client:
each is answered. Over Kafka, one that carries a readable `submission_id` gets exactly one rejection naming
the field on the system's outcome topic, one without goes to the DLQ with its error; over HTTP each is a
4xx problem naming the field, never a 500 and never a 202. The next valid fee is registered after it.
The table reads as the contract's edge (README, "What the edge takes")."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from contracts.integration import MAX_FEE_AMOUNT
from contracts.topics import dead_letter_name
from efrikort.infra.stack import InfraEndpoints
from tests.e2e.registration_actors import Directory
from tests.e2e.registration_fees import as_caller, post_fee, valid_fee
from tests.kafka_clients import plain_producer, reading
from tests.submissions import outcomes_topic, submissions_topic

pytestmark = pytest.mark.e2e

Fee = dict[str, Any]


def with_(**overrides: Any) -> Callable[[Fee], bytes]:
    return lambda fee: json.dumps({**fee, **overrides}).encode()


def replaced(old: bytes, new: bytes) -> Callable[[Fee], bytes]:
    def make(fee: Fee) -> bytes:
        raw = json.dumps(fee).encode()
        assert old in raw
        return raw.replace(old, new)

    return make


def nested_amount(depth: int) -> Callable[[Fee], bytes]:
    return replaced(b'"fee_amount": 300', b'"fee_amount": ' + b"[" * depth + b"]" * depth)


@dataclass(frozen=True)
class Odd:
    """What is sent instead of a valid fee, and the one answer: code and field (over Kafka under the fee's
    submission id, or `dead_lettered` when none can be read), and the HTTP status."""

    make: Callable[[Fee], bytes]
    code: str
    field: str | None
    status: int
    answered: bool = True
    """Over Kafka: answered under the fee's submission id; else dead-lettered (no id to answer under)."""


EDGE = {
    "identity number in Arabic-Indic digits": Odd(
        with_(patient_id="١٩٨٥٠٤١٢-١٢٣٠"), "invalid_patient_id", "patient_id", 422
    ),
    "identity number in fullwidth digits": Odd(
        with_(patient_id="１９８５０４１２-１２３０"), "invalid_patient_id", "patient_id", 422
    ),
    "identity number with a trailing newline": Odd(
        with_(patient_id="19850412-1230\n"), "invalid_value", "patient_id", 422
    ),
    "identity number with a space around it": Odd(
        with_(patient_id=" 19850412-1230"), "invalid_patient_id", "patient_id", 422
    ),
    "visit before the region's rules begin": Odd(
        with_(visit_date="2018-12-31"), "visit_date_not_covered", "visit_date", 422
    ),
    "visit in year one": Odd(with_(visit_date="0001-01-01"), "visit_date_not_covered", "visit_date", 422),
    "visit date in Arabic-Indic digits": Odd(with_(visit_date="٢٠٢٥-٠٤-٢٥"), "invalid_value", "visit_date", 422),
    "fee above the largest a fee may be": Odd(
        with_(fee_amount=MAX_FEE_AMOUNT + 1, paid_amount=None), "amount_too_large", "fee_amount", 422
    ),
    "fee past PostgreSQL's integer": Odd(
        with_(fee_amount=2**31, paid_amount=None), "amount_too_large", "fee_amount", 422
    ),
    "paid amount past any integer type": Odd(with_(paid_amount=10**30), "amount_too_large", "paid_amount", 422),
    "fee of more digits than a parser reads": Odd(
        replaced(b'"fee_amount": 300', b'"fee_amount": ' + b"9" * 5000), "malformed_json", None, 400
    ),
    "NUL in a field": Odd(with_(registered_by="SE2321000016-E001\x00"), "invalid_value", "registered_by", 422),
    "line break in the fee type": Odd(with_(fee_type="doctor_visit\n"), "invalid_value", "fee_type", 422),
    "lone surrogate in a field": Odd(
        replaced(b'"source": "visit"', b'"source": "visit", "receipt_issuer": "\\ud800"'), "malformed_json", None, 400
    ),
    "string longer than its field": Odd(with_(care_unit="U" * 65), "invalid_value", "care_unit", 422),
    "deeply nested JSON": Odd(nested_amount(5000), "too_deep", None, 400),
    "NaN for an amount": Odd(replaced(b'"fee_amount": 300', b'"fee_amount": NaN'), "malformed_json", None, 400),
    "JSON array holding the submission": Odd(lambda fee: json.dumps([fee]).encode(), "malformed_json", None, 400),
    "JSON array of numbers": Odd(lambda fee: b"[1, 2, 3]", "malformed_json", None, 400, answered=False),
    "JSON number": Odd(lambda fee: b"42", "malformed_json", None, 400, answered=False),
    "JSON null": Odd(lambda fee: b"null", "malformed_json", None, 400, answered=False),
    "NUL in the submission id": Odd(
        with_(submission_id="edge\x00id"), "invalid_value", "submission_id", 422, answered=False
    ),
}


def codes(outcome: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["code"], r.get("field")) for r in outcome.get("reasons", [])]


@pytest.mark.parametrize("case", EDGE)
async def test_over_kafka_each_odd_submission_is_answered_once_naming_its_field_or_dead_lettered(
    case: str, infra: InfraEndpoints, directory: Directory
) -> None:
    odd, bad, good = EDGE[case], valid_fee(directory), valid_fee(directory)
    raw, key = odd.make(bad), bad["submission_id"].encode()
    topic = submissions_topic(directory.system)
    async with (
        reading(infra.kafka_bootstrap_servers, outcomes_topic(directory.system)) as outcomes,
        reading(infra.kafka_bootstrap_servers, dead_letter_name(topic)) as dead_letters,
        plain_producer(infra.kafka_bootstrap_servers) as producer,
    ):
        await producer.send_and_wait(topic, raw, key=key)
        await producer.send_and_wait(topic, json.dumps(good).encode(), key=good["submission_id"].encode())
        await outcomes.wait_for(lambda r: r.key == good["submission_id"].encode())
        if odd.answered:
            await outcomes.wait_for(lambda r: r.key == key)
        else:
            await dead_letters.wait_for(lambda r: r.key == key and r.value == raw)
        await outcomes.drain(1)

    answers = outcomes.with_key(bad["submission_id"])
    if odd.answered:
        [refused] = answers
        assert refused["status"] == "rejected"
        assert codes(refused) == [(odd.code, odd.field)]
    else:
        assert answers == []
        [dead] = [r for r in dead_letters.seen if r.key == key]
        assert dict(dead.headers).get("dlq_error")
    [accepted] = outcomes.with_key(good["submission_id"])
    assert accepted["status"] == "accepted"


@pytest.mark.parametrize("case", EDGE)
async def test_over_http_each_odd_submission_is_a_problem_naming_its_field(
    case: str, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    odd, bad = EDGE[case], valid_fee(directory)

    response = await post_fee(registration_http, odd.make(bad), caller=directory.user, system_id=directory.system)

    assert response.status_code == odd.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem.get("field")) == (odd.code, odd.field)
    assert codes(problem) == [(odd.code, odd.field)]
    for sent in ("١٩٨٥", "１９８５", "19850412", "2018-12-31", "0001-01-01", str(2**31), "U" * 65):
        assert sent not in response.text


async def registered(http: httpx.AsyncClient, directory: Directory) -> str:
    response = await post_fee(http, valid_fee(directory, fee_amount=300, paid_amount=300))
    assert response.status_code == 200, response.text
    return str(response.json()["fee_id"])


CORRECTIONS = {
    "visit before the region's rules begin": (
        {"visit_date": "2018-12-31"},
        422,
        "visit_date_not_covered",
        "visit_date",
    ),
    "fee past PostgreSQL's integer": ({"fee_amount": 2**31}, 422, "amount_too_large", "fee_amount"),
    "paid amount past any integer type": ({"paid_amount": 10**30}, 422, "amount_too_large", "paid_amount"),
    "NUL in the fee type": ({"fee_type": "doctor_visit\x00"}, 422, "invalid_value", "fee_type"),
    "NUL in the reason": ({"reason": "typo\x00"}, 422, "invalid_value", "reason"),
    "visit date in Arabic-Indic digits": ({"visit_date": "٢٠٢٥-٠٤-٢٥"}, 422, "invalid_value", "visit_date"),
    "deeply nested JSON": (b'{"fee_amount": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "too_deep", None),
    "a JSON array": (b"[]", 400, "malformed_json", None),
    "not JSON": (b'{"fee_amount": 3', 400, "malformed_json", None),
    "larger than a body may be": ({"reason": "x" * 20_000}, 413, "too_large", None),
}


@pytest.mark.parametrize("case", CORRECTIONS)
async def test_a_correction_is_held_to_the_same_edge(
    case: str, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    body, status, code, field = CORRECTIONS[case]
    fee_id = await registered(registration_http, directory)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = await registration_http.patch(
        f"/v1/fees/{fee_id}",
        content=content,
        headers={"Content-Type": "application/json", **as_caller(directory.user)},
    )

    assert response.status_code == status, response.text
    assert (response.json()["code"], response.json().get("field")) == (code, field)


async def test_an_if_match_in_other_digits_is_a_version_mismatch_not_an_error(
    directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    fee_id = await registered(registration_http, directory)
    # Latin-1 "²", as a header carries it: `str.isdigit` takes it, `int` does not.
    headers = [(b"X-HSA-ID", directory.user.encode()), (b"If-Match", b'"\xb2"')]
    response = await registration_http.delete(f"/v1/fees/{fee_id}", headers=headers)
    assert response.status_code == 412, response.text
    assert response.json()["code"] == "version_mismatch"


@pytest.mark.parametrize("submission_id", ["edge\x00id", "x" * 101, "a\nb"], ids=["NUL", "too long", "newline"])
async def test_an_outcome_asked_for_under_an_id_no_submission_can_have_is_not_found(
    submission_id: str, directory: Directory, registration_http: httpx.AsyncClient
) -> None:
    response = await registration_http.get(
        f"/v1/submissions/{quote(submission_id, safe='')}/outcome", headers=as_caller(directory.user, directory.system)
    )
    assert response.status_code == 404, response.text
