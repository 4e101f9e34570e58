"""Real receivers of notices for tests: an SMTP server (aiosmtpd) and an HTTPS endpoint.

Both run in threads of their own on free ports, as an outside mail server or digital mailbox
would, and keep what they received. The HTTPS endpoint's certificate (for 127.0.0.1) comes from a
test CA, `MAILBOX_CA_FILE`; the notifications services under test trust it and list 127.0.0.1 as the
region's mailbox host (`MAILBOX_SETTINGS`), as a region configures its digital mailboxes.
The HTTPS receiver checks the webhook signature as a mailbox
does (a request signed with another secret is answered 401 and not counted: it comes from another
notifications instance sharing the session's Kafka), and can be told to fail a number of times
first, per path, to show retries.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from efrikort.infra.paths import var_dir
from efrikort.infra.pki import BROKER_FILE, ensure_broker_pki
from tests.infra_fixtures import free_ports

MAILBOX_HOST = "127.0.0.1"
_MAILBOX_PKI = var_dir() / "test" / "mailbox-pki"
MAILBOX_CA_FILE = ensure_broker_pki(_MAILBOX_PKI, hosts=(MAILBOX_HOST,))
"""The test CA of the mailbox's certificate (made once per checkout, like the local Kafka CA)."""
MAILBOX_SETTINGS = {"webhook_allowed_hosts": [MAILBOX_HOST], "webhook_ca_file": MAILBOX_CA_FILE}
"""What a notifications service needs to send to the test mailbox: its host allowed, its CA trusted."""
MAILBOX_ENV = {
    "EFRIKORT_NOTIFICATIONS_WEBHOOK_ALLOWED_HOSTS": MAILBOX_HOST,
    "EFRIKORT_NOTIFICATIONS_WEBHOOK_CA_FILE": str(MAILBOX_CA_FILE),
}


class MailDrop:
    """What the SMTP server accepted: one parsed message per DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server() -> Iterator[tuple[MailDrop, int]]:
    drop = MailDrop()
    [port] = free_ports(1)
    controller = Controller(drop, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield drop, port
    finally:
        controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    signed: bool
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """An HTTP endpoint that records every POST; `fail_first[path]` signed POSTs to a path answer 503."""

    secret: str = ""
    port: int = 0
    received: list[Received] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"https://{MAILBOX_HOST}:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        """The requests to `path` signed with the receiver's secret."""
        with self._lock:
            return [r for r in self.received if r.path == path and r.signed]

    def delivered(self, path: str) -> list[Received]:
        return [r for r in self.at(path) if r.answered == 200]

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        expected = hmac.new(
            self.secret.encode(), headers.get("X-Efrikort-Timestamp", "").encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(headers.get("X-Efrikort-Signature", ""), f"sha256={expected}"):
            with self._lock:
                self.received.append(Received(path, headers, body, 401, signed=False))
            return 401
        with self._lock:
            failures_left = self.fail_first.get(path, 0)
            status = 503 if failures_left > 0 else 200
            if failures_left > 0:
                self.fail_first[path] = failures_left - 1
            self.received.append(Received(path, headers, body, status, signed=True))
        return status


@contextmanager
def http_receiver(secret: str) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver._answer(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((MAILBOX_HOST, 0), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(_MAILBOX_PKI / BROKER_FILE)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
