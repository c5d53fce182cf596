"""Both mailers pass the same test: what the SMTP mailer delivers to a real SMTP server (aiosmtpd,
with a login) is what the sandbox mailer records."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest

from langganan.notifications.mailer import Attachment, Email, Mailer, SandboxMailer, SmtpMailer
from tests.notify_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    addresses,
    attachments,
    body_html,
    body_text,
    free_port,
    smtp_server,
)

SENDER = "Langganan Billing <billing@langganan.example>"
Mailbox = Callable[[], list[EmailMessage]]


@pytest.fixture(params=["smtp", "sandbox"])
def mailer(request: pytest.FixtureRequest) -> Iterator[tuple[Mailer, Mailbox]]:
    if request.param == "sandbox":
        sandbox = SandboxMailer(SENDER)
        yield sandbox, lambda: list(sandbox.sent)
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


def test_html_a_copy_and_an_attachment_arrive_as_one_multipart_message(mailer: tuple[Mailer, Mailbox]) -> None:
    send, mailbox = mailer
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 4  # binary: base64 on the wire
    html = "<!DOCTYPE html><html><body><p>Halo <b>Toko Maju</b>, Rp499.000</p></body></html>"
    send.send(Email(to="finance@tokomaju.id", subject="Invoice INV/2026/01/00001 diterbitkan: Rp499.000",
                    body="Halo Toko Maju, Rp499.000\n", reference="dlv_3", cc=("owner@tokomaju.id",), html=html,
                    attachments=(Attachment("INV-2026-01-00001.pdf", "application/pdf", pdf),)))
    (msg,) = mailbox()
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attached = msg.get_payload()  # type: ignore[misc]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert body_text(msg) == "Halo Toko Maju, Rp499.000\n" and body_html(msg).strip() == html
    assert attachments(msg) == [("INV-2026-01-00001.pdf", "application/pdf", pdf)]
    assert attached.get_content_disposition() == "attachment"
    assert (msg["To"], msg["Cc"]) == ("finance@tokomaju.id", "owner@tokomaju.id")
    assert addresses(msg) == ["finance@tokomaju.id", "owner@tokomaju.id"]


def test_smtp_sends_to_every_address_in_to_and_cc() -> None:
    with smtp_server() as (port, inbox):
        SmtpMailer("127.0.0.1", port, tls="none", sender=SENDER, timeout=5).send(
            Email(to="finance@tokomaju.id", subject="s", body="b", reference="dlv_4", cc=("owner@tokomaju.id",)))
        assert inbox.envelopes == [("billing@langganan.example", ["finance@tokomaju.id", "owner@tokomaju.id"])]


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


def test_the_sandbox_mailer_keeps_only_the_latest_messages() -> None:
    sandbox = SandboxMailer(SENDER, keep=3)
    for n in range(10):
        sandbox.send(Email(to=f"n{n}@example.id", subject=f"#{n}", body="b", reference=f"dlv_{n}"))
    assert [m["Subject"] for m in sandbox.sent] == ["#7", "#8", "#9"]
    assert SandboxMailer(SENDER).sent.maxlen == 100  # the default of `serve` is bounded too
