"""The rules a fee submission must pass before it is registered. Plain Python: no Kafka, no SQL."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import ValidationError

from contracts.authorization import Denial
from contracts.fee_checks import FeeCheckCode, VisitDates, check_fee_values, check_patient_id
from contracts.identity import IdentityNumber
from contracts.integration import (
    MAX_NESTING_DEPTH,
    MAX_SUBMISSION_BYTES,
    FeeSource,
    FeeSubmission,
    RejectionReason,
    nested_deeper_than,
)
from contracts.text import printable


class RejectionCode(StrEnum):
    """Rejection codes, as senders see them in `reasons[].code`."""

    MALFORMED_JSON = "malformed_json"
    """Not JSON in UTF-8, or JSON but not one object."""
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    """Arrays or objects nested deeper than `contracts.integration.MAX_NESTING_DEPTH`."""
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    INVALID_PATIENT_ID = FeeCheckCode.INVALID_PATIENT_ID.value
    FUTURE_VISIT_DATE = FeeCheckCode.FUTURE_VISIT_DATE.value
    VISIT_DATE_NOT_COVERED = FeeCheckCode.VISIT_DATE_NOT_COVERED.value
    NEGATIVE_AMOUNT = FeeCheckCode.NEGATIVE_AMOUNT.value
    AMOUNT_TOO_LARGE = FeeCheckCode.AMOUNT_TOO_LARGE.value
    PAID_ABOVE_FEE = FeeCheckCode.PAID_ABOVE_FEE.value
    UNKNOWN_FEE_TYPE = FeeCheckCode.UNKNOWN_FEE_TYPE.value
    MISSING_RECEIPT_ISSUER = "missing_receipt_issuer"
    SUBMISSION_CONFLICT = "submission_conflict"
    PATIENT_EXITED = "patient_exited"
    """The patient has left e-frikort (utträde) and not re-entered."""
    REGISTERED_BY_NOT_CALLER = "registered_by_not_caller"
    """Over HTTP a person registers in their own name only."""
    SYSTEM_NOT_CALLER = "system_not_caller"
    """Over HTTP through a system, the submission must name that system."""
    FEE_DELETED = "fee_deleted"
    VERSION_MISMATCH = "version_mismatch"
    NOTHING_TO_CHANGE = "nothing_to_change"
    NOT_STORABLE = "not_storable"
    """The database refused a value the checks let through: the last line of defence, never expected."""


AUTHORIZATION_CODES: frozenset[str] = frozenset(denial.value for denial in Denial)
"""Refusals because of who sent it, not what was sent: the codes of the one authorization decision."""


@dataclass(frozen=True)
class RegionCoverage:
    """What of the region's rules registration must know: the first visit date they cover
    (`EFRIKORT_REGISTRATION_FIRST_VISIT_DATE`). Handed to the routes through `Service(provides=...)`."""

    first_visit_date: date

    def visit_dates(self, today: date) -> VisitDates:
        return VisitDates(self.first_visit_date, today)


@dataclass(frozen=True)
class Accepted:
    submission: FeeSubmission
    patient: IdentityNumber

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies the content, so a re-sent submission can be told from a conflicting one."""
        canonical = _CANONICAL.encode(self.submission.model_dump(mode="json"))
        return hashlib.sha256(canonical.encode()).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True)
"""`json.dumps(..., sort_keys=True)`'s encoder, made once: `dumps` with an option builds a new one for every
call. Its output must never change: stored fingerprints are compared with those of re-sent submissions."""


@dataclass(frozen=True)
class Rejected:
    submission_id: str | None
    """None when not even the submission id can be read: then there is nobody to answer."""
    reasons: list[RejectionReason]


_SUBMISSION_ID = re.compile(rb'"submission_id"[ \t\r\n]*:[ \t\r\n]*"([^"\\\x00-\x1f\x7f]{1,400})"')
"""A submission id written out in what is not one JSON object (broken JSON, an array, too deep, too large):
plain characters between quotes, no escapes, looked for in the first 4 KiB."""
MAX_SUBMISSION_ID_LENGTH = 100

_PYDANTIC_CODES = {
    "missing": RejectionCode.MISSING_FIELD,
    "extra_forbidden": RejectionCode.UNKNOWN_FIELD,
    # What Python's parser took and pydantic's does not (a lone surrogate escape):
    "json_invalid": RejectionCode.MALFORMED_JSON,
    "model_type": RejectionCode.MALFORMED_JSON,  # an array, a number, a string or null where one object belongs
}


def reason(code: RejectionCode | Denial, field: str | None, message: str) -> RejectionReason:
    """One thing at fault, as the sender sees it in `reasons[]`."""
    return RejectionReason(code=code.value, field=field, message=message)


def readable_submission_id(candidate: object) -> str | None:
    """The submission id to answer under, when `candidate` is one: a string of 1 to 100 printable
    characters (no control character, no lone surrogate), which can be a Kafka key, a JSON string
    and PostgreSQL text alike. Else None: there is nobody to answer, and the message is dead-lettered."""
    if isinstance(candidate, str) and 0 < len(candidate) <= MAX_SUBMISSION_ID_LENGTH and printable(candidate):
        return candidate
    return None


def submission_id_in(raw: bytes) -> str | None:
    """The submission id a message is answered under, whatever else it holds: the `submission_id` of a
    JSON object, else one written out in the text; None when there is none to read (nobody to answer)."""
    if len(raw) <= MAX_SUBMISSION_BYTES and not nested_deeper_than(raw, MAX_NESTING_DEPTH):
        document = _parsed(raw)
        if isinstance(document, dict):
            return readable_submission_id(document.get("submission_id"))
    return _recognisable_submission_id(raw)


def _recognisable_submission_id(raw: bytes) -> str | None:
    match = _SUBMISSION_ID.search(raw[:4096])
    if match is None:
        return None
    try:
        return readable_submission_id(match.group(1).decode("utf-8"))
    except UnicodeDecodeError:
        return None


_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}", re.ASCII)
"""How a field of the contract is named: an unknown field is named back only when its name looks so,
for a name is what the sender wrote (it might be anything, an identity number among them)."""


def shape_reasons(error: ValidationError) -> list[RejectionReason]:
    reasons = []
    for problem in error.errors(include_input=False, include_context=False, include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or None
        if field is not None and not _FIELD_NAME.fullmatch(field):
            field = None
        kind = problem["type"]
        code = _PYDANTIC_CODES.get(kind) or (
            RejectionCode.WRONG_TYPE if kind.endswith("_type") else RejectionCode.INVALID_VALUE
        )
        reasons.append(reason(code, field, problem["msg"]))
    return reasons


def check_submission(raw: bytes, visits: VisitDates) -> Accepted | Rejected:
    """Accept a submission, or say every reason it is refused, each with its field.

    Whatever `raw` holds, the answer is one of the two: what the parser, the database or the rules could
    not take is refused here. `visits` are the visit dates a fee may have.
    """
    if len(raw) > MAX_SUBMISSION_BYTES:
        return _unread(raw, RejectionCode.TOO_LARGE, f"a submission may be at most {MAX_SUBMISSION_BYTES} bytes")
    if nested_deeper_than(raw, MAX_NESTING_DEPTH):
        return _unread(raw, RejectionCode.TOO_DEEP, f"arrays and objects may nest at most {MAX_NESTING_DEPTH} deep")
    document = _parsed(raw)
    if not isinstance(document, dict):
        message = "not JSON in UTF-8" if document is _NOT_JSON else "a submission must be one JSON object"
        return _unread(raw, RejectionCode.MALFORMED_JSON, message)
    answerable_id = readable_submission_id(document.get("submission_id"))
    try:
        submission = FeeSubmission.model_validate_json(raw)
    except ValidationError as error:
        return Rejected(answerable_id, shape_reasons(error))
    return _check_content(submission, visits)


_NOT_JSON = object()


def _parsed(raw: bytes) -> object:
    """The JSON value, or `_NOT_JSON`. Strict JSON: no NaN or Infinity, no number past Python's limit of
    digits (a ValueError, not a JSONDecodeError); the depth was bounded before, so no RecursionError."""
    try:
        # As `json.loads` reads bytes, with a decoder made once (`loads` with an option makes one per call).
        return _STRICT.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return _NOT_JSON


def _refuse_constant(name: str) -> object:
    raise ValueError("NaN and Infinity are not JSON")


_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)


def _unread(raw: bytes, code: RejectionCode, message: str) -> Rejected:
    """A message refused before it could be read as a submission: answered under a submission id
    written out in it, if one can be recognised."""
    return Rejected(_recognisable_submission_id(raw), [reason(code, None, message)])


def _check_content(submission: FeeSubmission, visits: VisitDates) -> Accepted | Rejected:
    patient, reasons = check_patient_id(submission.patient_id, visits.last)
    reasons += check_fee_values(
        visit_date=submission.visit_date,
        fee_type=submission.fee_type,
        fee_amount=submission.fee_amount,
        paid_amount=submission.paid_amount,
        visits=visits,
    )
    if submission.source is FeeSource.RECEIPT and not submission.receipt_issuer:
        reasons.append(
            reason(RejectionCode.MISSING_RECEIPT_ISSUER, "receipt_issuer", "a receipt must name who issued it")
        )
    if reasons or patient is None:
        return Rejected(submission.submission_id, reasons)
    return Accepted(submission, patient)
