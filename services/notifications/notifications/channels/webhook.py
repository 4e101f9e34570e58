"""A webhook to a digital mailbox or an inbox such as 1177's: an HTTP POST signed with HMAC-SHA256.

The receiver checks `X-Efrikort-Signature: sha256=<hex>` over `<timestamp>.<body>` with the shared
secret, and rejects a timestamp too far from its clock (replay). `Idempotency-Key` is the same on
every try of one notice, so the receiver can drop a second copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from contracts import clock
from notifications.channels import DeliveryFailed, Outgoing
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


class WebhookChannel:
    def __init__(self, settings: NotificationsSettings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False)

    async def send(self, notice: Outgoing) -> None:
        url = (notice.contact.webhook_url if notice.contact else None) or self._settings.webhook_default_url
        if not url:
            raise DeliveryFailed("no webhook endpoint for the patient and no default", permanent=True)
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
            raise DeliveryFailed(f"webhook: {type(error).__name__}") from None
        if not response.is_success:
            raise DeliveryFailed(f"webhook answered HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
