"""E-mail over SMTP, with STARTTLS or TLS as the region's mail server wants it."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from notifications.channels import DeliveryFailed, Outgoing
from notifications.settings import NotificationsSettings

MESSAGE_ID_DOMAIN = "efrikort.invalid"


class EmailChannel:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    def message(self, notice: Outgoing) -> EmailMessage:
        if notice.contact is None or not notice.contact.email:
            raise DeliveryFailed("no e-mail address in the patient's contact details", permanent=True)
        message = EmailMessage()
        message["From"] = self._settings.email_sender
        message["To"] = notice.contact.email
        message["Subject"] = notice.subject
        message["Date"] = formatdate(localtime=False)
        # Fixed per notice, never per try: a mail system may drop a second copy with the same Message-ID.
        message["Message-ID"] = f"<{notice.idempotency_key}@{MESSAGE_ID_DOMAIN}>"
        message["Content-Language"] = notice.language
        message.set_content(notice.text)
        message.add_alternative(notice.html, subtype="html")
        return message

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self._settings.smtp_ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    async def send(self, notice: Outgoing) -> None:
        settings = self._settings
        message = self.message(notice)
        security = settings.smtp_security
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                use_tls=security == "tls",
                start_tls=security == "starttls",
                tls_context=self._tls_context() if security != "none" else None,
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({recipient.code for recipient in error.recipients})
            raise DeliveryFailed(f"the mail server refused the recipient (SMTP {codes})") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP: {type(error).__name__}") from None
