"""Who is calling over HTTP: the HSA-ID of the person or system, never taken from a plain header in production.

In production the identity comes from the verified client certificate (a SITHS card carries the
HSA-ID in the subject's serialNumber). A development mode that trusts the `X-HSA-ID` header exists
only when `EFRIKORT_TRUST_IDENTITY_HEADER=true` is set, and the service warns about it at start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from cryptography import x509
from cryptography.x509.oid import NameOID
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


def from_client_certificate(request: Request) -> Caller | None:
    """The HSA-ID in the serialNumber of the verified client certificate's subject, as SITHS cards carry it.

    The certificate was verified against the trusted CAs in the TLS handshake (see `runtime.tls`);
    a connection without one never reaches the application when client certificates are required.
    """
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    certificate = x509.load_pem_x509_certificate(chain[0].encode())
    serial_numbers = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not serial_numbers:
        return None
    return Caller(hsa_id=str(serial_numbers[0].value))


def from_certificate_or_trusted_headers(request: Request) -> Caller | None:
    """Development mode with TLS: the certificate when there is one, else the headers."""
    return from_client_certificate(request) or from_trusted_headers(request)


def identify_for(trust_identity_header: bool, serves_tls: bool) -> Callable[[Request], Caller | None]:
    """How a service knows its callers: the client certificate under TLS, the header only in development
    mode, and otherwise nobody (every request that needs a caller gets 401)."""
    if trust_identity_header:
        return from_certificate_or_trusted_headers if serves_tls else from_trusted_headers
    return from_client_certificate if serves_tls else _nobody


CurrentCaller = Annotated[Caller, Depends(current_caller)]
