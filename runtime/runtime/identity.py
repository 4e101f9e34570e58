"""Who is calling over HTTP: the HSA-ID of the person or system, never taken from a plain header in production.

In production the identity comes from the verified client certificate (a SITHS card carries the
HSA-ID in the subject's serialNumber). A development mode that trusts the `X-HSA-ID` header exists
only when `EFRIKORT_TRUST_IDENTITY_HEADER=true` is set, and the service warns about it at start.

A front end (the desk web application) calls as the person signed in to it: over mutual TLS with its
own certificate, naming the person in `X-On-Behalf-Of`. Only a front end listed in
`EFRIKORT_TRUSTED_FRONTENDS` may; the header from any other caller, or without a verified certificate,
is refused, and a listed front end without the header is refused too (it has no rights of its own).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from cryptography import x509
from cryptography.x509.oid import NameOID
from fastapi import Depends, HTTPException, Request

from runtime.problems import Problem

IDENTITY_HEADER = "X-HSA-ID"
SYSTEM_HEADER = "X-System-ID"
ON_BEHALF_HEADER = "X-On-Behalf-Of"
HSA_ID = re.compile(r"SE\d{10}-[A-Za-z0-9][A-Za-z0-9-]{0,30}")
"""An HSA-ID: SE, the organisation number, a dash and up to 31 letters, digits and dashes."""


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


Identify = Callable[[Request], Caller | None]


def speaking_for_people(identify: Identify, trusted_frontends: frozenset[str]) -> Identify:
    """`identify`, except that a trusted front end's verified certificate speaks for the person it names
    in `X-On-Behalf-Of`, and nobody else may name anyone there."""

    def identify_with_delegation(request: Request) -> Caller | None:
        person = request.headers.get(ON_BEHALF_HEADER)
        front_end = from_client_certificate(request)
        if person is None:
            if front_end is not None and front_end.hsa_id in trusted_frontends:
                raise Problem(
                    401,
                    "on_behalf_of_missing",
                    "A front end acts for a person",
                    f"a front end's certificate names the signed-in person in {ON_BEHALF_HEADER}",
                    field=ON_BEHALF_HEADER,
                )
            return identify(request)
        if front_end is None:
            raise Problem(
                401,
                "on_behalf_of_without_certificate",
                "No trusted front end",
                f"{ON_BEHALF_HEADER} is taken only from a trusted front end's verified client certificate",
                field=ON_BEHALF_HEADER,
            )
        if front_end.hsa_id not in trusted_frontends:
            raise Problem(
                403,
                "frontend_not_trusted",
                "Not a trusted front end",
                f"this certificate may not act for anyone else ({ON_BEHALF_HEADER})",
                field=ON_BEHALF_HEADER,
            )
        if not HSA_ID.fullmatch(person):
            raise Problem(
                400, "invalid_value", "Invalid HSA-ID", f"{ON_BEHALF_HEADER}: not an HSA-ID", field=ON_BEHALF_HEADER
            )
        return Caller(hsa_id=person)

    return identify_with_delegation


def identify_for(
    trust_identity_header: bool, serves_tls: bool, *, trusted_frontends: frozenset[str] = frozenset()
) -> Identify:
    """How a service knows its callers: the client certificate under TLS (a trusted front end's speaking
    for the person in `X-On-Behalf-Of`), the header only in development mode, and otherwise nobody
    (every request that needs a caller gets 401)."""
    if trust_identity_header:
        identify = from_certificate_or_trusted_headers if serves_tls else from_trusted_headers
    else:
        identify = from_client_certificate if serves_tls else _nobody
    return speaking_for_people(identify, trusted_frontends)


CurrentCaller = Annotated[Caller, Depends(current_caller)]
