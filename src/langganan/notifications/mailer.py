"""Mailers: one interface, an SMTP implementation and a sandbox one that records instead of sending.

Both build the message with `compose`, so what the sandbox records is byte for byte what SMTP
would send; the conformance test in tests/integration/test_mailer_conformance.py runs both.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from langganan.config import Settings

log = logging.getLogger("langganan.mail")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. application/pdf
    data: bytes


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str  # the plain-text part
    reference: str  # the delivery id: becomes the Message-ID, so a resend is recognisable
    cc: tuple[str, ...] = ()
    html: str | None = None  # the HTML alternative of `body`
    attachments: tuple[Attachment, ...] = ()


class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Hand the message over, or raise (the delivery is then retried with backoff)."""
        ...


def compose(email: Email, sender: str) -> EmailMessage:
    """The message as sent: text/plain alone, or multipart/alternative (text, then HTML: clients show the
    last part they can), inside multipart/mixed when there are attachments. Cc is a header; SMTP's
    envelope takes every To and Cc address from the headers (smtplib's send_message)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to
    if email.cc:
        msg["Cc"] = ", ".join(email.cc)
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "langganan.local"
    msg["Message-ID"] = make_msgid(idstring=email.reference, domain=domain)
    msg.set_content(email.body)
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return msg


class SmtpMailer:
    """Sends over SMTP (smtplib) with no TLS, STARTTLS or implicit TLS, and optional login."""

    def __init__(self, host: str, port: int, *, tls: str = "starttls", username: str | None = None,
                 password: str | None = None, sender: str, timeout: float = 10.0) -> None:
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError("tls must be none, starttls or ssl")
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password = username, password
        self.sender, self.timeout = sender, timeout
        # built once (it loads the system's CA certificates), not per email; none without TLS
        self.context = ssl.create_default_context() if tls != "none" else None

    def send(self, email: Email) -> None:
        msg = compose(email, self.sender)
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.tls == "starttls":
                smtp.starttls(context=self.context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)


class SandboxMailer:
    """Used when no SMTP host is configured: records each message (and logs it) instead of sending.

    It is the default mailer of a long-running `serve`, so only the latest `keep` messages are kept.
    """

    def __init__(self, sender: str, *, keep: int = 100) -> None:
        self.sender = sender
        self.sent: deque[EmailMessage] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, email: Email) -> None:
        msg = compose(email, self.sender)
        with self._lock:
            self.sent.append(msg)
        log.info("sandbox mail to %s%s: %s", email.to, f" (cc {', '.join(email.cc)})" if email.cc else "",
                 email.subject)


def make_mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return SandboxMailer(settings.smtp_from)
    return SmtpMailer(settings.smtp_host, settings.smtp_port, tls=settings.smtp_tls, username=settings.smtp_username,
                      password=settings.smtp_password, sender=settings.smtp_from,
                      timeout=settings.delivery_timeout_seconds)
