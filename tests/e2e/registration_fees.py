"""Helpers of the registration tests: a fee from the test directory's actors, and how to send it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx

from tests.e2e.registration_actors import Directory
from tests.submissions import new_patient, submission

DROP = object()
"""An override that leaves the field out."""


def valid_fee(directory: Directory, **overrides: Any) -> dict[str, Any]:
    """A fee the test directory's user at its unit may register, for a fresh patient."""
    fee = submission(
        system_id=directory.system,
        care_unit=directory.unit,
        registered_by=directory.user,
        patient_id=new_patient(),
        visit_date=(date.today() - timedelta(days=3)).isoformat(),
    )
    fee.update(overrides)
    return {name: value for name, value in fee.items() if value is not DROP}


def as_caller(hsa_id: str, system_id: str | None = None) -> dict[str, str]:
    """The development identity headers (EFRIKORT_TRUST_IDENTITY_HEADER is on in the e2e services)."""
    return {"X-HSA-ID": hsa_id, **({"X-System-ID": system_id} if system_id else {})}


async def post_fee(
    http: httpx.AsyncClient, fee: dict[str, Any] | bytes, caller: str | None = None, system_id: str | None = None
) -> httpx.Response:
    """POST the fee as `caller` (else its `registered_by`), through `system_id` (else the system its body
    names: a fee naming a system is registered through it, and only then)."""
    body = fee if isinstance(fee, bytes) else json.dumps(fee).encode()
    who = caller or (fee["registered_by"] if isinstance(fee, dict) else "SE2321000016-NOBODY")
    system_id = system_id or (fee.get("system_id") if isinstance(fee, dict) else None)
    return await http.post(
        "/v1/fees", content=body, headers={"Content-Type": "application/json", **as_caller(who, system_id)}
    )
