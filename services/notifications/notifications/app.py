"""Wiring of the notifications service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contracts.notice_events import NoticeChannel
from contracts.topics import AUDIT, FREE_CARDS, NOTICES, OVERCHARGES, PATIENT_CONTACTS, PATIENT_STATUS
from notifications import handlers
from notifications.channels import ChannelAdapter
from notifications.channels.email import EmailChannel
from notifications.channels.letter import LetterChannel
from notifications.channels.webhook import WebhookChannel
from notifications.delivery_rules import Mailboxes
from notifications.rendering import Region
from notifications.routes import router
from notifications.settings import NotificationsSettings
from notifications.worker import DeliveryWorker
from runtime.access_grants import grants_consumer
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run

NAME = "notifications"


def build(runtime: Runtime[NotificationsSettings]) -> Service:
    settings = runtime.settings
    # The group follows the service name, so that a test can run a second instance beside the real one.
    group = settings.service_name
    region = Region(settings.region_name, settings.region_phone, settings.region_web)
    webhook_default_url = settings.webhook_default_url
    on_free_card_event = partial(handlers.on_free_card_event, region=region, webhook_default_url=webhook_default_url)
    on_overcharge_event = partial(handlers.on_overcharge_event, region=region, webhook_default_url=webhook_default_url)
    consumers = [
        Consumer(FREE_CARDS, group=group, handler=on_free_card_event, gathers=True),
        Consumer(OVERCHARGES, group=group, handler=on_overcharge_event, gathers=True),
        Consumer(PATIENT_CONTACTS, group=group, handler=handlers.on_contact_details),
        # Who may see and resend notices: the operator endpoints ask the grants.
        grants_consumer(group),
    ]
    if settings.close_to_ceiling_kronor is not None:
        on_patient_status = partial(
            handlers.on_patient_status,
            close_to_ceiling_kronor=settings.close_to_ceiling_kronor,
            region=region,
            webhook_default_url=webhook_default_url,
        )
        consumers.append(Consumer(PATIENT_STATUS, group=group, handler=on_patient_status, gathers=True))
    channels: dict[NoticeChannel, ChannelAdapter] = {
        NoticeChannel.EMAIL: EmailChannel(settings),
        NoticeChannel.WEBHOOK: WebhookChannel(settings),
        NoticeChannel.LETTER: LetterChannel(settings),
    }
    worker = DeliveryWorker(settings, channels)
    return Service(
        name=settings.service_name,
        title="e-frikort notifications",
        migrations=Path(__file__).parent / "migrations",
        consumers=consumers,
        produces=[PATIENT_CONTACTS, NOTICES, AUDIT],
        router=router,
        background=[worker.run],
        provides=[Mailboxes.of(settings.webhook_allowed_hosts)],
    )


def main() -> None:
    run(build, NotificationsSettings.for_service(NAME, http_port=8084))
