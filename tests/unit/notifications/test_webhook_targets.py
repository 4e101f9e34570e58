"""Webhooks go only where the region allows: a signed notice (name, unit, dates, amounts, card number)
goes to a patient's own `webhook_url` only over https and only to a host on the region's list of digital
mailboxes (`EFRIKORT_NOTIFICATIONS_WEBHOOK_ALLOWED_HOSTS`; empty: no patient-specific webhooks). It is
checked when the address is set and again when a notice is sent; a redirect is not followed; operators
are told a status code or a fixed kind of failure, never the receiver's words nor the address."""

from __future__ import annotations

import httpx
import pytest

from contracts.notice_events import NoticeChannel
from notifications.channels import DeliveryFailed, Outgoing
from notifications.channels.webhook import WebhookChannel
from notifications.delivery_rules import ContactDetails, Mailboxes
from notifications.settings import NotificationsSettings
from tests.infra_fixtures import free_ports
from tests.notice_receivers import MAILBOX_SETTINGS, http_receiver
from tests.unit.notifications.test_channels import outgoing

MAILBOXES = Mailboxes.of(["mailbox.example", "inbox.1177.se"])


@pytest.mark.parametrize("url", ["https://mailbox.example/in/123", "https://Inbox.1177.se:8443/notices"])
def test_an_https_url_on_a_listed_host_is_accepted(url: str) -> None:
    assert MAILBOXES.refusal(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://mailbox.example/in/123",  # not encrypted
        "https://elsewhere.example/in",  # not one of the region's mailboxes
        "https://127.0.0.1:5432/",  # an internal address
        "https://169.254.169.254/latest/meta-data/",
        "https://mailbox.example.attacker.example/",
        "https://user:secret@mailbox.example/",  # credentials in a URL end up in logs
        "ftp://mailbox.example/",
        "https://mailbox.example:notaport/",
    ],
)
def test_any_other_url_is_refused_and_the_reason_does_not_repeat_it(url: str) -> None:
    why = MAILBOXES.refusal(url)
    assert why is not None
    assert "example" not in why and "127.0.0.1" not in why and "secret" not in why


def test_an_empty_list_allows_no_patient_specific_webhook() -> None:
    assert Mailboxes.of([]).refusal("https://mailbox.example/") is not None


def test_the_allowed_hosts_are_a_comma_separated_list_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EFRIKORT_NOTIFICATIONS_WEBHOOK_ALLOWED_HOSTS", "mailbox.example, Inbox.1177.se")
    assert NotificationsSettings().webhook_allowed_hosts == ["mailbox.example", "inbox.1177.se"]


def channel_to(handler: httpx.MockTransport | None = None, **settings: object) -> WebhookChannel:
    configured = NotificationsSettings.model_validate({"webhook_allowed_hosts": ["mailbox.example"], **settings})
    client = httpx.AsyncClient(transport=handler, follow_redirects=False) if handler is not None else None
    return WebhookChannel(configured, client)


def to_webhook(url: str) -> Outgoing:
    return outgoing(contact=ContactDetails(NoticeChannel.WEBHOOK, name="Åsa Öberg", webhook_url=url))


async def test_a_stored_url_no_longer_on_the_list_is_not_posted_to_and_no_retry_helps() -> None:
    posted: list[httpx.Request] = []
    channel = channel_to(httpx.MockTransport(lambda request: posted.append(request) or httpx.Response(200)))
    with pytest.raises(DeliveryFailed) as failure:
        await channel.send(to_webhook("http://10.0.0.7:8080/admin"))
    assert failure.value.permanent and posted == []
    assert "10.0.0.7" not in str(failure.value) and "webhook_url" in str(failure.value)


async def test_a_redirect_is_not_followed() -> None:
    posted: list[str] = []

    def redirecting(request: httpx.Request) -> httpx.Response:
        posted.append(str(request.url))
        return httpx.Response(307, headers={"Location": "http://10.0.0.7/internal"})

    with pytest.raises(DeliveryFailed, match=r"^webhook answered HTTP 307$"):
        await channel_to(httpx.MockTransport(redirecting)).send(to_webhook("https://mailbox.example/in"))
    assert posted == ["https://mailbox.example/in"]


async def test_operators_are_told_the_status_code_never_the_receivers_words() -> None:
    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="postgres: password authentication failed for user admin")

    with pytest.raises(DeliveryFailed) as failure:
        await channel_to(httpx.MockTransport(refusing)).send(to_webhook("https://mailbox.example/in"))
    assert str(failure.value) == "webhook answered HTTP 500"


async def test_a_mailbox_that_does_not_answer_in_time_is_a_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out reading from mailbox.example:443", request=request)

    with pytest.raises(DeliveryFailed) as failure:
        await channel_to(httpx.MockTransport(slow)).send(to_webhook("https://mailbox.example/in"))
    assert str(failure.value) == "webhook: timeout"


async def test_a_closed_port_is_a_refused_connection_named_without_host_or_port() -> None:
    [port] = free_ports(1)
    channel = channel_to(webhook_allowed_hosts=["127.0.0.1"], webhook_timeout_s=5)
    with pytest.raises(DeliveryFailed) as failure:
        await channel.send(to_webhook(f"https://127.0.0.1:{port}/in"))
    assert str(failure.value) == "webhook: connection refused"


async def test_a_mailbox_whose_certificate_is_not_trusted_is_a_tls_failure() -> None:
    with http_receiver("secret") as mailbox:
        trusting = channel_to(**{**MAILBOX_SETTINGS, "webhook_secret": "secret"})
        await trusting.send(to_webhook(mailbox.url("/in")))
        assert len(mailbox.delivered("/in")) == 1
        # The system's CAs do not know the test CA: the handshake fails, and that is all operators hear.
        with pytest.raises(DeliveryFailed) as failure:
            await channel_to(webhook_allowed_hosts=["127.0.0.1"]).send(to_webhook(mailbox.url("/in")))
    assert str(failure.value) == "webhook: tls"
