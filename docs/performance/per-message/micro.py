"""micro.py: what each of the per-message changes (c40dc0f) costs before and after, one call at a time, on
an idle machine: `.venv/bin/python docs/performance/per-message/micro.py` (output in micro.txt)."""

import json
import timeit
import unicodedata
import uuid
from collections.abc import Callable

from contracts.integration import FeeSubmission
from contracts.text import printable

N = 20000
STRICT = json.JSONDecoder(parse_constant=lambda name: 1 / 0)  # as registration.submission_rules makes it, once
CANONICAL = json.JSONEncoder(sort_keys=True)
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def microseconds(call: Callable[[], object]) -> float:
    return min(timeit.repeat(call, number=N, repeat=5)) / N * 1e6


def printable_before(value: str) -> bool:
    return not any(unicodedata.category(character) in {"Cc", "Cs"} for character in value)


document = {
    "submission_id": "3f1c7a8e-1111-4a2b-9c3d-123456789abc",
    "system_id": "SE2321000016-BENCH",
    "patient_id": "198001012384",
    "visit_date": "2026-05-01",
    "care_unit": "SE2321000016-UBENCH",
    "registered_by": "SE2321000016-EBENCH",
    "fee_type": "doctor_visit",
    "fee_amount": 200,
    "source": "visit",
}
raw = json.dumps(document).encode()
dumped = FeeSubmission.model_validate_json(raw).model_dump(mode="json")
outcome = {"submission_id": "x", "status": "accepted", "fee_id": str(uuid.uuid4()), "amount_due": 200}
name = "SE2321000016-EBENCH"
printable_costs = microseconds(lambda: printable_before(name)), microseconds(lambda: printable(name))
print("printable, a 19-character id: {:.2f} -> {:.2f} us".format(*printable_costs))
print(
    f"submission parsed: {microseconds(lambda: json.loads(raw, parse_constant=lambda n: 1 / 0)):.2f} -> "
    f"{microseconds(lambda: STRICT.decode(raw.decode(json.detect_encoding(raw), 'surrogatepass'))):.2f} us"
)
print(
    f"fingerprint's canonical JSON: {microseconds(lambda: json.dumps(dumped, sort_keys=True)):.2f} -> "
    f"{microseconds(lambda: CANONICAL.encode(dumped)):.2f} us"
)
print(
    f"outcome's JSON: {microseconds(lambda: json.dumps(outcome, ensure_ascii=False, separators=(',', ':'))):.2f} -> "
    f"{microseconds(lambda: COMPACT.encode(outcome)):.2f} us"
)


class Event:
    def __init__(self, patient_key: str) -> None:
        self.patient_key = patient_key


batch = [(None, Event(f"p{i}")) for i in range(500)]
keys = sorted({event.patient_key for _, event in batch})


def patient_by_patient() -> list[list[tuple[None, Event]]]:
    return [[(d, e) for d, e in batch if e.patient_key == key] for key in keys]


def in_one_pass() -> list[list[tuple[None, Event]]]:
    found: dict[str, list[tuple[None, Event]]] = {}
    for d, e in batch:
        found.setdefault(e.patient_key, []).append((d, e))
    return [found.get(key, []) for key in keys]


before, after = (min(timeit.repeat(f, number=20, repeat=3)) / 20 * 1e3 for f in (patient_by_patient, in_one_pass))
print(f"protection, a batch of 500 fees of 500 patients, their registrations found: {before:.1f} -> {after:.2f} ms")
