"""HTTP over TLS with client certificates, the way SITHS cards and integrated systems present them.

uvicorn verifies the client's certificate against the trusted CAs (`ssl.CERT_REQUIRED`: no
certificate, or one from another CA, and the handshake fails), but does not hand the verified
certificate to the application. The protocol below does: on each TLS connection it reads the
peer certificate from the transport's `ssl_object` and puts it in the ASGI scope as the ASGI TLS
extension describes (`scope["extensions"]["tls"]["client_cert_chain"]`, PEM). `runtime.identity`
takes the HSA-ID from there.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from runtime.settings import ServiceSettings

ASGIApp = Any


def _with_tls_extension(app: ASGIApp, tls: dict[str, Any]) -> ASGIApp:
    async def app_with_peer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": tls}}
        await app(scope, receive, send)

    return app_with_peer


class PeerCertificateProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, telling the application which verified certificate the peer showed."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        tls = {
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "tls_version": ssl_object.version(),
            "cipher_suite": (ssl_object.cipher() or ("",))[0],
        }
        self.app: ASGIApp = _with_tls_extension(self.app, tls)


class _RevocationCheckingConfig(uvicorn.Config):
    """uvicorn's configuration, whose TLS context also checks each client certificate against the CAs'
    revocation lists: a revoked SITHS card (lost, or its holder gone) is refused in the handshake.

    uvicorn offers no option for a CRL, so it is loaded into the context uvicorn makes, when it makes it."""

    def __init__(self, app: ASGIApp, *, client_crl: str, **options: Any) -> None:
        super().__init__(app, **options)
        self.client_crl = client_crl

    def load(self) -> None:
        super().load()
        assert self.ssl is not None, "a revocation list is checked only under TLS"
        self.ssl.load_verify_locations(cafile=self.client_crl)
        # The leaf only: the CAs themselves are the operator's own configuration, not something a caller presents.
        self.ssl.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


SERVER_KEEP_ALIVE_S = 5
"""How long a service keeps an idle HTTP connection open (uvicorn's default, said once here): a client of
the services must let go of an idle connection sooner, or a request sent on it as the service closes it
fails with no answer."""

CLIENT_IDLE_CONNECTION_KEPT_S = SERVER_KEEP_ALIVE_S / 2
"""How long a client of the services (the desk, the bench) keeps an idle connection: well inside the
service's own keep-alive. With both at 5 s (httpx's and uvicorn's defaults), a request sent 5 s after the
last one could go out on a connection the service was closing, and got no answer (seen in a browser test:
the desk's request for an extract sent to protection 5.0 s after its last one)."""


def server_config(app: ASGIApp, settings: ServiceSettings) -> uvicorn.Config:
    """How uvicorn serves a service: plain HTTP, or TLS requiring a client certificate from a trusted CA."""
    settings.check_identity_settings()
    # httptools, the C parser of uvicorn's HTTP (the one uvicorn prefers when it is installed), not h11's pure
    # Python: said here rather than left to uvicorn's choice, so that a missing package fails at start-up.
    options: dict[str, Any] = {"http": HttpToolsProtocol}
    if settings.serves_tls:
        options = {
            "ssl_certfile": settings.tls_certificate,
            "ssl_keyfile": settings.tls_private_key,
            "ssl_ca_certs": settings.tls_client_ca,
            "ssl_cert_reqs": ssl.CERT_REQUIRED if settings.tls_require_client_certificate else ssl.CERT_OPTIONAL,
            "http": PeerCertificateProtocol,
        }
    # No access log: identity numbers travel in bodies, never URLs, and the log stays off in case one slips in.
    options |= {
        "log_config": None,
        "lifespan": "on",
        "access_log": False,
        "timeout_graceful_shutdown": 15,
        "timeout_keep_alive": SERVER_KEEP_ALIVE_S,
    }
    if settings.tls_client_crl:
        return _RevocationCheckingConfig(
            app, client_crl=settings.tls_client_crl, host=settings.http_host, port=settings.http_port, **options
        )
    return uvicorn.Config(app, host=settings.http_host, port=settings.http_port, **options)
