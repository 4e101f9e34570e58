"""Wiring of the notifications service."""

from __future__ import annotations

from pathlib import Path

from contracts.notice_events import NoticeChannel
from contracts.topics import AUDIT, FREE_CARDS, NOTICES, OVERCHARGES, PATIENT_CONTACTS, PATIENT_STATUS
from notifications import routes
from notifications.channels import ChannelAdapter
from notifications.channels.email import EmailChannel
from notifications.channels.letter import LetterChannel
from notifications.channels.webhook import WebhookChannel
from notifications.handlers import NoticeHandlers
from notifications.settings import NotificationSettings
from notifications.worker import DeliveryWorker
from runtime.access_grants import grants_consumer
from runtime.consumers import Consumer
from runtime.service import Runtime, Service, run
from runtime.settings import ServiceSettings

NAME = "notifications"


def build(runtime: Runtime, settings: NotificationSettings | None = None) -> Service:
    settings = settings or NotificationSettings()
    # The group follows the service name, so that a test can run a second instance beside the real one.
    group = runtime.settings.service_name
    handlers = NoticeHandlers(settings)
    consumers = [
        Consumer(FREE_CARDS, group=group, handler=handlers.on_free_card_event),
        Consumer(OVERCHARGES, group=group, handler=handlers.on_overcharge_event),
        Consumer(PATIENT_CONTACTS, group=group, handler=handlers.on_contact_details),
        # Who may see and resend notices: the operator endpoints ask the grants.
        grants_consumer(group),
    ]
    if settings.close_to_ceiling_kronor is not None:
        consumers.append(Consumer(PATIENT_STATUS, group=group, handler=handlers.on_patient_status))
    channels: dict[NoticeChannel, ChannelAdapter] = {
        NoticeChannel.EMAIL: EmailChannel(settings),
        NoticeChannel.WEBHOOK: WebhookChannel(settings),
        NoticeChannel.LETTER: LetterChannel(settings),
    }
    worker = DeliveryWorker(settings, channels)
    return Service(
        name=runtime.settings.service_name,
        title="e-frikort notifications",
        migrations=Path(__file__).parent / "migrations",
        consumers=consumers,
        produces=[PATIENT_CONTACTS, NOTICES, AUDIT],
        router=routes.router(runtime),
        background=[worker.run],
    )


def main() -> None:
    run(build, ServiceSettings.for_service(NAME, http_port=8084))
