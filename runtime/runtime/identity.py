"""Who is calling over HTTP: the HSA-ID of the person or system, never taken from a plain header in production.

In production the identity comes from the verified client certificate (a SITHS card carries the
HSA-ID in the subject's serialNumber). A development mode that trusts the `X-HSA-ID` header exists
only when `EFRIKORT_TRUST_IDENTITY_HEADER=true` is set, and the service warns about it at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

IDENTITY_HEADER = "X-HSA-ID"
SYSTEM_HEADER = "X-System-ID"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the person's HSA-ID, and the integrated system it came through, if any."""

    hsa_id: str
    system_id: str | None = None


async def current_caller(request: Request) -> Caller:
    """The caller of this request, or 401 when there is none that can be trusted."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        caller = getattr(request.app.state, "identify", _nobody)(request)
    if caller is None:
        raise HTTPException(status_code=401, detail="no trusted identity: present a client certificate")
    return caller


def _nobody(request: Request) -> Caller | None:
    return None


def from_trusted_headers(request: Request) -> Caller | None:
    """Development mode only: whoever the headers say."""
    hsa_id = request.headers.get(IDENTITY_HEADER)
    if not hsa_id:
        return None
    return Caller(hsa_id=hsa_id, system_id=request.headers.get(SYSTEM_HEADER) or None)


CurrentCaller = Annotated[Caller, Depends(current_caller)]
