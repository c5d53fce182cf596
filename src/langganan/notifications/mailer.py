"""Mailers: one interface, an SMTP implementation and a sandbox one that records instead of sending.

Both build the message with `compose`, so what the sandbox records is byte for byte what SMTP
would send; the conformance test in tests/integration/test_mailer_conformance.py runs both.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from langganan.config import Settings

log = logging.getLogger("langganan.mail")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    reference: str  # the delivery id: becomes the Message-ID, so a resend is recognisable


class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Hand the message over, or raise (the delivery is then retried with backoff)."""
        ...


def compose(email: Email, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "langganan.local"
    msg["Message-ID"] = make_msgid(idstring=email.reference, domain=domain)
    msg.set_content(email.body)
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

    def send(self, email: Email) -> None:
        msg = compose(email, self.sender)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.tls == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)


class SandboxMailer:
    """Used when no SMTP host is configured: records each message (and logs it) instead of sending."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.sent: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, email: Email) -> None:
        msg = compose(email, self.sender)
        with self._lock:
            self.sent.append(msg)
        log.info("sandbox mail to %s: %s", email.to, email.subject)


def make_mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return SandboxMailer(settings.smtp_from)
    return SmtpMailer(settings.smtp_host, settings.smtp_port, tls=settings.smtp_tls, username=settings.smtp_username,
                      password=settings.smtp_password, sender=settings.smtp_from,
                      timeout=settings.delivery_timeout_seconds)
