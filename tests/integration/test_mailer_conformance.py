"""Both mailers pass the same test: what the SMTP mailer delivers to a real SMTP server (aiosmtpd,
with a login) is what the sandbox mailer records."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest

from langganan.notifications.mailer import Email, Mailer, SandboxMailer, SmtpMailer
from tests.notify_support import SMTP_PASSWORD, SMTP_USER, body_text, free_port, smtp_server

SENDER = "Langganan Billing <billing@langganan.example>"
Mailbox = Callable[[], list[EmailMessage]]


@pytest.fixture(params=["smtp", "sandbox"])
def mailer(request: pytest.FixtureRequest) -> Iterator[tuple[Mailer, Mailbox]]:
    if request.param == "sandbox":
        sandbox = SandboxMailer(SENDER)
        yield sandbox, lambda: sandbox.sent
        return
    with smtp_server() as (port, inbox):
        yield (SmtpMailer("127.0.0.1", port, tls="none", username=SMTP_USER, password=SMTP_PASSWORD, sender=SENDER,
                          timeout=5), lambda: inbox.messages)
        assert inbox.authenticated and all(inbox.authenticated)  # the mailer logged in with its credentials


def test_a_sent_message_arrives_whole(mailer: tuple[Mailer, Mailbox]) -> None:
    send, mailbox = mailer
    body = "Halo Toko Maju,\n\nInvoice INV/2026/01/00001 untuk Growth telah diterbitkan: Rp499.000.\n"
    send.send(Email(to="owner@tokomaju.id", subject="Invoice INV/2026/01/00001: Rp499.000", body=body,
                    reference="dlv_1"))
    send.send(Email(to="other@example.id", subject="Second", body="two", reference="dlv_2"))
    first, second = mailbox()
    assert first["From"] == SENDER and first["To"] == "owner@tokomaju.id"
    assert first["Subject"] == "Invoice INV/2026/01/00001: Rp499.000"
    assert body_text(first) == body
    assert "dlv_1" in first["Message-ID"] and first["Date"]
    assert second["To"] == "other@example.id" and body_text(second) == "two\n"


def test_smtp_failures_raise_so_the_delivery_is_retried() -> None:
    closed = SmtpMailer("127.0.0.1", free_port(), tls="none", sender=SENDER, timeout=2)
    with pytest.raises(OSError):
        closed.send(Email(to="a@example.id", subject="s", body="b", reference="dlv_x"))
    with smtp_server() as (port, inbox):
        wrong = SmtpMailer("127.0.0.1", port, tls="none", username=SMTP_USER, password="wrong", sender=SENDER,
                           timeout=5)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            wrong.send(Email(to="a@example.id", subject="s", body="b", reference="dlv_y"))
        assert inbox.messages == []
