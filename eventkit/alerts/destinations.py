"""Sending one rendered message to one destination, one attempt at a time: the signed
webhook (eventkit.webhooks, shared with the webhook plugin), Slack incoming webhooks and
email over SMTP (STARTTLS or TLS, with AUTH). The outbox (eventkit.alerts.outbox)
decides about retries from the :class:`~eventkit.webhooks.Attempt`."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx
import msgspec

from eventkit.alerts.messages import Message
from eventkit.alerts.spec import Destination
from eventkit.config_alerts import SmtpSettings
from eventkit.webhooks import Attempt, post_once

__all__ = ["build_email", "send"]

_encoder = msgspec.json.Encoder()


def build_email(smtp: SmtpSettings, to: str, message: Message) -> EmailMessage:
    """The email of a message: plain text with an HTML alternative."""
    mail = EmailMessage()
    mail["Subject"] = message["subject"]
    mail["From"] = smtp.from_address
    mail["To"] = to
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=smtp.from_address.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    mail["X-Eventkit-Kind"] = str(message.get("webhook", {}).get("type", "message"))
    mail.set_content(message["text"])
    if message.get("html"):
        mail.add_alternative(message["html"], subtype="html")
    return mail


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=smtp.ca_file or None)


def _smtp_error(exc: Exception) -> Attempt:
    """Permanent SMTP refusals (5xx) are not retried; 4xx and network errors are."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    permanent = isinstance(code, int) and 500 <= code < 600
    if isinstance(exc, smtplib.SMTPNotSupportedError | smtplib.SMTPAuthenticationError):
        permanent = True
    return Attempt(False, not permanent, f"{type(exc).__name__}: {exc}"[:1000])


def send_email(smtp: SmtpSettings, to: str, message: Message) -> Attempt:
    """One SMTP transaction. With ``security = "starttls"`` the upgrade must succeed
    (a server without STARTTLS is refused, never used in clear)."""
    if not smtp.host:
        return Attempt(False, False, "no mail server: set [alerts.smtp] host (docs/alerts.md)")
    mail = build_email(smtp, to, message)
    client: smtplib.SMTP | None = None
    try:
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=_tls_context(smtp)
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=_tls_context(smtp))
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, smtp.password)
        client.send_message(mail)
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return _smtp_error(exc)
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    return Attempt(True)


def send(
    destination: Destination, message: Message, *, smtp: SmtpSettings, client: httpx.Client
) -> Attempt:
    """One attempt to deliver ``message`` to ``destination``."""
    if destination.type == "email":
        return send_email(smtp, destination.to, message)
    body: Any = message["slack"] if destination.type == "slack" else message["webhook"]
    return post_once(client, destination.to, _encoder.encode(body), secret=destination.secret)
