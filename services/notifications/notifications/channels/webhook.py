"""A webhook to a digital mailbox or an inbox such as 1177's: an HTTP POST signed with HMAC-SHA256.

The receiver checks `X-Efrikort-Signature: sha256=<hex>` over `<timestamp>.<body>` with the shared
secret, and rejects a timestamp too far from its clock (replay). `Idempotency-Key` is the same on
every try of one notice, so the receiver can drop a second copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl

import httpx

from contracts import clock
from notifications.channels import DeliveryFailed, Outgoing
from notifications.delivery_rules import Mailboxes
from notifications.settings import NotificationsSettings

SIGNATURE_HEADER = "X-Efrikort-Signature"
TIMESTAMP_HEADER = "X-Efrikort-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(notice: Outgoing) -> bytes:
    """What the mailbox receives: the notice's texts and the patient's key, never an identity number."""
    return json.dumps(
        {
            "notice_id": notice.idempotency_key,
            "patient_key": notice.patient_key,
            "kind": notice.kind,
            "language": notice.language,
            "subject": notice.subject,
            "text": notice.text,
            "html": notice.html,
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


def failure_kind(error: httpx.HTTPError) -> str:
    """What an operator is told of a try that got no answer: a fixed kind, never the receiver's words
    or the address (an error text naming hosts and ports would make the notices list a port scanner)."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    cause = error.__cause__ or error.__context__
    while cause is not None and not isinstance(cause, ssl.SSLError | ConnectionRefusedError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLError):
        return "tls"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, httpx.ConnectError):
        return "connection failed"
    return "request failed"


class WebhookChannel:
    def __init__(self, settings: NotificationsSettings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._mailboxes = Mailboxes.of(settings.webhook_allowed_hosts)
        # A redirect is not followed: it could lead anywhere, past the region's list of mailboxes.
        self._client = client or httpx.AsyncClient(
            timeout=settings.webhook_timeout_s, follow_redirects=False, verify=self._tls_context()
        )

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self._settings.webhook_ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def endpoint(self, notice: Outgoing) -> str:
        """The patient's own mailbox, checked against the region's list again (it may have changed since
        the details were set), or the region's default."""
        own = notice.contact.webhook_url if notice.contact else None
        if own:
            if why := self._mailboxes.refusal(own):
                raise DeliveryFailed(f"webhook: the patient's webhook_url {why}", permanent=True)
            return own
        if not self._settings.webhook_default_url:
            raise DeliveryFailed("no webhook endpoint for the patient and no default", permanent=True)
        return self._settings.webhook_default_url

    async def send(self, notice: Outgoing) -> None:
        url = self.endpoint(notice)
        body = body_of(notice)
        timestamp = str(int(clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._settings.webhook_secret.get_secret_value(), timestamp, body),
            IDEMPOTENCY_HEADER: notice.idempotency_key,
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"webhook: {failure_kind(error)}") from None
        except httpx.InvalidURL:
            raise DeliveryFailed("webhook: the endpoint is not a valid URL", permanent=True) from None
        if not response.is_success:
            raise DeliveryFailed(f"webhook answered HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
