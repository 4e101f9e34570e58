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
from contracts.fee_checks import FeeCheckCode, check_fee_values, check_patient_id
from contracts.identity import IdentityNumber
from contracts.integration import MAX_SUBMISSION_BYTES, FeeSource, FeeSubmission, RejectionReason


class RejectionCode(StrEnum):
    """Rejection codes, as senders see them in `reasons[].code`."""

    MALFORMED_JSON = "malformed_json"
    TOO_LARGE = "too_large"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    INVALID_PATIENT_ID = FeeCheckCode.INVALID_PATIENT_ID.value
    FUTURE_VISIT_DATE = FeeCheckCode.FUTURE_VISIT_DATE.value
    NEGATIVE_AMOUNT = FeeCheckCode.NEGATIVE_AMOUNT.value
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


AUTHORIZATION_CODES: frozenset[str] = frozenset(denial.value for denial in Denial)
"""Refusals because of who sent it, not what was sent: the codes of the one authorization decision."""


@dataclass(frozen=True)
class Accepted:
    submission: FeeSubmission
    patient: IdentityNumber

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies the content, so a re-sent submission can be told from a conflicting one."""
        canonical = json.dumps(self.submission.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Rejected:
    submission_id: str | None
    """None when not even the submission id can be read: then there is nobody to answer."""
    reasons: list[RejectionReason]


_SUBMISSION_ID = re.compile(rb'"submission_id"\s*:\s*"([^"\\]{1,100})"')

_PYDANTIC_CODES = {
    "missing": RejectionCode.MISSING_FIELD,
    "extra_forbidden": RejectionCode.UNKNOWN_FIELD,
}


def reason(code: RejectionCode | Denial, field: str | None, message: str) -> RejectionReason:
    """One thing at fault, as the sender sees it in `reasons[]`."""
    return RejectionReason(code=code.value, field=field, message=message)


def _recognisable_submission_id(raw: bytes) -> str | None:
    match = _SUBMISSION_ID.search(raw[:4096])
    return match.group(1).decode("utf-8", "replace") if match else None


def _shape_reasons(error: ValidationError) -> list[RejectionReason]:
    reasons = []
    for problem in error.errors(include_input=False):
        field = ".".join(str(part) for part in problem["loc"]) or None
        kind = problem["type"]
        code = _PYDANTIC_CODES.get(kind) or (
            RejectionCode.WRONG_TYPE if kind.endswith("_type") else RejectionCode.INVALID_VALUE
        )
        reasons.append(reason(code, field, problem["msg"]))
    return reasons


def check_submission(raw: bytes, today: date) -> Accepted | Rejected:
    """Accept a submission, or say every reason it is refused, each with its field.

    `today` is the current date in Swedish time: a visit may not lie after it.
    """
    if len(raw) > MAX_SUBMISSION_BYTES:
        return Rejected(
            _recognisable_submission_id(raw),
            [reason(RejectionCode.TOO_LARGE, None, f"a submission may be at most {MAX_SUBMISSION_BYTES} bytes")],
        )
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Rejected(
            _recognisable_submission_id(raw),
            [reason(RejectionCode.MALFORMED_JSON, None, f"not JSON in UTF-8: {error.__class__.__name__}")],
        )
    if not isinstance(document, dict):
        return Rejected(None, [reason(RejectionCode.MALFORMED_JSON, None, "a submission must be a JSON object")])
    submission_id = document.get("submission_id")
    answerable_id = submission_id if isinstance(submission_id, str) and 0 < len(submission_id) <= 100 else None
    try:
        submission = FeeSubmission.model_validate_json(raw)
    except ValidationError as error:
        return Rejected(answerable_id, _shape_reasons(error))
    return _check_content(submission, today)


def _check_content(submission: FeeSubmission, today: date) -> Accepted | Rejected:
    patient, reasons = check_patient_id(submission.patient_id, today)
    reasons += check_fee_values(
        visit_date=submission.visit_date,
        fee_type=submission.fee_type,
        fee_amount=submission.fee_amount,
        paid_amount=submission.paid_amount,
        today=today,
    )
    if submission.source is FeeSource.RECEIPT and not submission.receipt_issuer:
        reasons.append(
            reason(RejectionCode.MISSING_RECEIPT_ISSUER, "receipt_issuer", "a receipt must name who issued it")
        )
    if reasons or patient is None:
        return Rejected(submission.submission_id, reasons)
    return Accepted(submission, patient)
