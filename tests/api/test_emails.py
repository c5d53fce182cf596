"""Emails people act on (issue 16), received by a real SMTP server (aiosmtpd) and parsed with the email package:
an HTML part and a plain-text part with the same content in the account's language, to the billing contact
with the owner in Cc for invoices, receipts and dunning; the invoice's PDF attached to invoice and receipt
emails; a pay link that opens the portal on that invoice; subjects that say what happened; no reminder twice;
no "pay before" once the account is on Free; a "moved to Free" email."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from langganan.app import create_app, prepare
from langganan.due import run_due
from langganan.events import service as events
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.notifications.messages import LINK
from langganan.notifications.models import Delivery, DeliveryStatus, Notification
from langganan.notifications.worker import NotifyReport, run_notifications
from langganan.portal.models import PortalLink
from langganan.web.sessions import hash_token
from tests.api.test_lifecycle import DECLINED, GOOD
from tests.conftest import ADMIN_KEY, BILLING, Env, make_settings
from tests.notify_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    Inbox,
    attachments,
    body_html,
    body_text,
    free_port,
    smtp_server,
)

LINK_RE = re.compile(r"(http://testserver/portal/email-link/[A-Za-z0-9_-]+)")


@contextmanager
def mail_app(database: Database, port: int, **overrides: Any) -> Iterator[Env]:
    """The app sending its email over SMTP to 127.0.0.1:`port`, its links under the test client's address."""
    settings = make_settings(database, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
                             smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD,
                             smtp_from="Langganan Billing <billing@langganan.example>",
                             public_url="http://testserver", **overrides)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


@pytest.fixture
def mail(database: Database) -> Iterator[tuple[Env, Inbox]]:
    with smtp_server() as (port, inbox), mail_app(database, port) as env:
        yield env, inbox


def deliver(env: Env) -> NotifyReport:
    return run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]


def buy_by_transfer(env: Env, account_id: str, plan: str = "growth") -> dict[str, Any]:
    res = env.ok(env.post(f"/v1/accounts/{account_id}/subscription/change",
                          {"plan": plan, "payment_method": "bank_transfer"}))
    return dict(res["invoice"])


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def html_text(markup: str) -> str:
    """What a reader of the HTML part reads: the text between the tags (and the link targets)."""
    hrefs = " ".join(re.findall(r'href="([^"]*)"', markup))
    body = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", markup, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + hrefs)


def assert_same_content(msg: EmailMessage) -> None:
    """Every word of the text part is in the HTML part: the two say the same."""
    missing = words(body_text(msg)) - words(html_text(body_html(msg)))
    assert not missing, missing


def pdf_of(msg: EmailMessage) -> bytes:
    ((name, content_type, data),) = attachments(msg)
    assert name.endswith(".pdf") and content_type == "application/pdf" and data.startswith(b"%PDF-")
    return data


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages) + f"\n{reader.metadata.title}"


@pytest.mark.parametrize(("locale", "subject", "intro", "action"), [
    ("en", "Invoice {number} issued: Rp499,000", "Invoice {number} for Growth (monthly) was issued: Rp499,000.",
     "Pay invoice {number} (Rp499,000)"),
    ("id", "Invoice {number} diterbitkan: Rp499.000",
     "Invoice {number} untuk Growth (monthly) telah diterbitkan: Rp499.000.", "Bayar invoice {number} (Rp499.000)"),
])
def test_an_invoice_email_has_both_parts_the_pdf_of_that_invoice_and_the_owner_in_copy(
        mail: tuple[Env, Inbox], locale: str, subject: str, intro: str, action: str) -> None:
    env, inbox = mail
    acc = env.account(locale=locale, name="Toko Maju")
    invoice = buy_by_transfer(env, acc["id"])
    number = invoice["number"]
    deliver(env)
    (msg,) = inbox.messages
    assert msg["Subject"] == subject.format(number=number)
    assert (msg["To"], msg["Cc"]) == (BILLING["email"], acc["email"])
    assert inbox.envelopes[0][1] == [BILLING["email"], acc["email"]]  # both receive it, each once
    assert msg.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    text, page = body_text(msg), body_html(msg)
    assert intro.format(number=number) in text and html.escape(intro.format(number=number)) in page
    assert invoice["payment"]["va_number"] in text and invoice["payment"]["va_number"] in page
    assert f'<html lang="{locale}">' in page and "<script" not in page and "src=" not in page
    assert action.format(number=number) in text and html.escape(action.format(number=number)) in page
    assert_same_content(msg)
    # the PDF of that invoice, the bytes the API serves for it
    data = pdf_of(msg)
    assert attachments(msg)[0][0] == number.replace("/", "-") + ".pdf"
    assert number in pdf_text(data)
    api = env.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert api.status_code == 200 and api.content == data
    # the outbox keeps the parts, not the PDF, and no working sign-in token
    with env.db.transaction() as s:
        row = s.scalars(select(Delivery).where(Delivery.account_id == acc["id"])).one()
        assert row.attach_invoice and row.invoice_id == invoice["id"] and row.cc == acc["email"]
        assert LINK in row.body and row.html is not None and LINK in row.html
        assert not LINK_RE.search(row.body + row.html)


@pytest.mark.parametrize(("locale", "subject", "paid_word"), [
    ("en", "Payment received: invoice {number} is paid (Rp499,000)", "PAID"),
    ("id", "Pembayaran diterima: invoice {number} lunas (Rp499.000)", "LUNAS"),
])
def test_the_receipt_says_paid_and_carries_the_paid_invoice(mail: tuple[Env, Inbox], locale: str, subject: str,
                                                              paid_word: str) -> None:
    env, inbox = mail
    acc = env.account(locale=locale)
    invoice = buy_by_transfer(env, acc["id"])
    deliver(env)
    env.pay_va(invoice)
    deliver(env)
    issued, receipt = inbox.messages
    assert receipt["Subject"] == subject.format(number=invoice["number"])
    assert (receipt["To"], receipt["Cc"]) == (BILLING["email"], acc["email"])
    assert_same_content(receipt)
    data = pdf_of(receipt)
    assert paid_word in pdf_text(data) and invoice["number"] in pdf_text(data)
    assert paid_word not in pdf_text(pdf_of(issued))  # the invoice email went out while it was unpaid
    assert env.get(f"/v1/invoices/{invoice['id']}/pdf").content == data
    # the receipt's link opens the invoice's detail (nothing to pay)
    (link,) = set(LINK_RE.findall(body_text(receipt)))
    browser = TestClient(env.client.app)
    opened = browser.post(link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/portal/invoices/{invoice['id']}"


def test_the_pay_link_opens_the_portal_on_that_invoice_once(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en")
    invoice = buy_by_transfer(env, acc["id"])
    deliver(env)
    (msg,) = inbox.messages
    (link,) = set(LINK_RE.findall(body_text(msg)))
    assert f'href="{link}"' in body_html(msg)  # the same link in both parts
    path = link.removeprefix("http://testserver")
    browser = TestClient(env.client.app)
    landing = browser.get(path)  # what a mail scanner fetches: a page with a button, the link still unused
    assert landing.status_code == 200 and invoice["number"] in landing.text
    assert browser.get(path).status_code == 200
    opened = browser.post(path, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/portal/pay/{invoice['id']}"
    assert "HttpOnly" in opened.headers["set-cookie"] and "Path=/portal" in opened.headers["set-cookie"]
    page = browser.get(opened.headers["location"])
    assert page.status_code == 200 and invoice["number"] in page.text
    assert invoice["payment"]["va_number"] in page.text
    # used once: signed in already, the link leads to the invoice; anybody else gets the expired page
    again = browser.get(path, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"/portal/pay/{invoice['id']}"
    assert browser.post(path).status_code == 401
    stranger = TestClient(env.client.app)
    assert stranger.get(path).status_code == 401 and stranger.post(path).status_code == 401
    assert stranger.get(path[:-1] + ("A" if path[-1] != "A" else "B")).status_code == 401
    assert stranger.get("/portal/email-link/" + "x" * 300).status_code == 401
    assert stranger.post("/portal/email-link/%E2%80%8B").status_code == 401
    with env.db.transaction() as s:  # stored as a hash, opening that invoice, for 7 days of wall time
        stored = s.scalars(select(PortalLink).where(PortalLink.account_id == acc["id"])).one()
        assert stored.token_hash == hash_token(path.rsplit("/", 1)[1]) and stored.invoice_id == invoice["id"]
        assert stored.used_at is not None and stored.expires_at - stored.created_at == timedelta(days=7)


def test_an_expired_pay_link_signs_nobody_in(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="id")
    buy_by_transfer(env, acc["id"])
    deliver(env)
    (link,) = set(LINK_RE.findall(body_text(inbox.messages[0])))
    with env.db.transaction() as s:
        s.execute(update(PortalLink).where(PortalLink.account_id == acc["id"])
                  .values(expires_at=wall_now() - timedelta(seconds=1)))
    browser = TestClient(env.client.app)
    path = link.removeprefix("http://testserver")
    expired = browser.get(path + "?lang=id")
    assert expired.status_code == 401 and "kedaluwarsa" in expired.text
    assert browser.post(path, follow_redirects=False).status_code == 401
    assert "langganan_portal" not in browser.cookies


def test_what_the_customer_wrote_is_escaped_in_the_html_part(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en", billing=False)
    env.ok(env.put(f"/v1/accounts/{acc['id']}/billing-info",
                   {**BILLING, "contact_name": "Siti <b onmouseover=alert(1)>R</b>",
                    "company_name": "PT \"Maju\" & <i>Jaya</i>"}))
    buy_by_transfer(env, acc["id"])
    deliver(env)
    (msg,) = inbox.messages
    page = body_html(msg)
    assert "Hello Siti <b onmouseover=alert(1)>R</b>," in body_text(msg)
    assert "Hello Siti &lt;b onmouseover=alert(1)&gt;R&lt;/b&gt;," in page and "<b onmouseover" not in page
    assert "PT &#34;Maju&#34; &amp; &lt;i&gt;Jaya&lt;/i&gt;" in page and "<i>" not in page


def test_an_account_without_billing_information_gets_its_email_once_at_the_owner(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en", name="Toko Maju", billing=False)
    env.ok(env.post("/v1/usage", {"id": "u-1", "account_id": acc["id"], "meter": "conversation_reply",
                                  "quantity": 334}), 201)  # below Rp5.000: a low-balance alert
    deliver(env)
    (msg,) = inbox.messages
    assert (msg["To"], msg["Cc"]) == (acc["email"], None)
    assert body_text(msg).startswith("Hello Toko Maju,\n\n")
    assert 'because you are the owner of the account "Toko Maju"' in body_text(msg)
    assert_same_content(msg)


def test_the_owner_who_is_also_the_billing_contact_gets_one_copy(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en", billing=False)
    env.ok(env.put(f"/v1/accounts/{acc['id']}/billing-info", {**BILLING, "email": acc["email"].upper()}))
    buy_by_transfer(env, acc["id"])
    deliver(env)
    (msg,) = inbox.messages
    assert msg["Cc"] is None and msg["To"].lower() == acc["email"]  # never the same address twice
    assert len(inbox.envelopes[0][1]) == 1


def _subjects(inbox: Inbox) -> list[str]:
    return [m["Subject"] for m in inbox.messages]


SUBJECTS = {
    "en": ["Invoice {first} issued: Rp499,000", "Payment received: invoice {first} is paid (Rp499,000)",
           "Invoice {renewal} issued: Rp499,000", "Reminder: your renewal of Growth is due on 15 February 2026",
           "Reminder: your renewal of Growth is due on 15 February 2026",
           "Overdue: your renewal of Growth was due on 15 February 2026", "Invoice {renewal} has expired",
           "Your account has moved to the Free plan"],
    "id": ["Invoice {first} diterbitkan: Rp499.000", "Pembayaran diterima: invoice {first} lunas (Rp499.000)",
           "Invoice {renewal} diterbitkan: Rp499.000",
           "Pengingat: perpanjangan Growth Anda jatuh tempo pada 15 Februari 2026",
           "Pengingat: perpanjangan Growth Anda jatuh tempo pada 15 Februari 2026",
           "Terlambat: perpanjangan Growth Anda jatuh tempo pada 15 Februari 2026",
           "Invoice {renewal} telah kedaluwarsa", "Akun Anda telah pindah ke paket Free"],
}
MOVED = {
    "en": ("Your account moved to the Free plan on 18 February 2026 because the renewal of Growth (invoice "
           "{renewal}) was not paid.", "Nothing was deleted"),
    "id": ("Akun Anda pindah ke paket Free pada 18 Februari 2026 karena perpanjangan Growth (invoice {renewal}) "
           "tidak dibayar.", "Tidak ada yang dihapus"),
}


@pytest.mark.parametrize("locale", ["en", "id"])
def test_a_renewal_left_unpaid_reads_reminder_overdue_then_moved_to_free(mail: tuple[Env, Inbox],
                                                                          locale: str) -> None:
    """Day by day through a bank-transfer renewal nobody pays (period end 15 February 10:00 WIB)."""
    env, inbox = mail
    acc = env.account(locale=locale)
    first = buy_by_transfer(env, acc["id"])
    env.pay_va(first)
    for days in (24, 4, 2, 1, 3):  # 8 Feb: invoice; 12 and 14 Feb: reminders; 15 Feb: overdue; 18 Feb: Free
        env.advance(days=days)
    deliver(env)
    renewal = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=renewal"))["data"][0]
    assert _subjects(inbox) == [s.format(first=first["number"], renewal=renewal["number"]) for s in SUBJECTS[locale]]
    assert all(m["Cc"] == acc["email"] for m in inbox.messages)  # invoices, receipts, dunning: the owner in copy
    *_, reminder, _, overdue, expired, moved = inbox.messages
    for msg in (reminder, overdue, moved, expired):
        assert_same_content(msg)
        assert attachments(msg) == []
    assert renewal["number"] in body_text(reminder) and LINK_RE.search(body_text(reminder))
    grace = {"en": "Pay it before 18 February 2026, 10:00 WIB to keep your plan.",
             "id": "Bayar sebelum 18 Februari 2026, 10:00 WIB untuk mempertahankan paket Anda."}[locale]
    assert LINK_RE.search(body_text(overdue)) and grace in body_text(overdue)  # until the grace period ends
    sentence, kept = MOVED[locale]
    assert sentence.format(renewal=renewal["number"]) in body_text(moved) and kept in body_text(moved)
    assert LINK_RE.search(body_text(moved))  # back to the Subscription page, to subscribe again
    assert env.subscription(acc["id"])["plan"] == "free"


def test_the_moved_to_free_email_after_the_last_card_decline(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="id")
    good, bad = env.card(acc["id"], GOOD), env.card(acc["id"], DECLINED)
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": good}))
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/auto-renew",
                    {"enabled": True, "payment_method_id": bad}))
    env.advance(days=40)  # 15 February declined, retried on the 16th, 18th and 20th: Free
    deliver(env)
    moved = inbox.messages[-1]
    assert moved["Subject"] == "Akun Anda telah pindah ke paket Free"
    assert ("Akun Anda pindah ke paket Free pada 20 Februari 2026 karena perpanjangan Growth (invoice "
            "INV/2026/02/00001) tidak dibayar.") in body_text(moved)
    assert moved["Cc"] == acc["email"]
    # caught up after the fact: the declines' "choose another payment method before ..." are not sent
    assert not [m for m in inbox.messages if m["Subject"].startswith("Pembayaran gagal")]


def test_a_reminder_is_told_once_however_often_the_due_runner_runs(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en")
    env.pay_va(buy_by_transfer(env, acc["id"]))
    env.advance(days=28)  # 12 February: the 3-day reminder
    ctx = env.client.app.state.ctx  # type: ignore[attr-defined]
    for _ in range(2):  # the due runner and the notifications again, twice
        run_due(ctx)
        deliver(env)
    reminders = [m for m in inbox.messages if m["Subject"].startswith("Reminder:")]
    assert len(reminders) == 1
    # the same reminder announced again (a second worker, a replayed batch): no second email, no second feed item
    event = env.ok(env.get(f"/v1/events?account_id={acc['id']}&type=subscription.renewal_reminder"))["data"][0]
    with env.db.transaction() as s:
        events.emit(s, "subscription.renewal_reminder", acc["id"], event["data"], env.now())
        events.emit(s, "subscription.renewal_reminder", acc["id"], event["data"], env.now())
    deliver(env)
    assert len([m for m in inbox.messages if m["Subject"].startswith("Reminder:")]) == 1
    with env.db.transaction() as s:
        items = s.scalars(select(Notification).where(Notification.account_id == acc["id"],
                                                     Notification.type == "subscription.renewal_reminder")).all()
        assert len(items) == 1 and items[0].dedupe_key is not None
    assert len(env.ok(env.get(f"/v1/events?account_id={acc['id']}&type=subscription.renewal_reminder"))["data"]) == 3
    env.advance(days=2)  # 14 February: the 1-day reminder is another reminder, told once
    assert len([m for m in inbox.messages if m["Subject"].startswith("Reminder:")]) == 2


PAY_BEFORE = ("Pay before", "pay before", "Pay it before", "Pay invoice", "by then to keep your plan")


def test_no_pay_before_once_the_account_is_on_free_when_due_work_catches_up(mail: tuple[Env, Inbox]) -> None:
    """Enqueue time: a worker that catches up 40 days announces the reminders and the move to Free in one run;
    the reminders are dropped when they are fanned out (their feed items stay: history)."""
    env, inbox = mail
    acc = env.account(locale="en")
    env.pay_va(buy_by_transfer(env, acc["id"]))
    deliver(env)
    inbox.messages.clear()
    env.advance(days=40)
    types = env.event_types(acc["id"])
    assert types.count("subscription.renewal_reminder") == 2 and "subscription.past_due" in types
    subjects = _subjects(inbox)
    assert not [s for s in subjects if s.startswith(("Reminder", "Overdue"))], subjects
    assert subjects[-1] == "Your account has moved to the Free plan"
    for msg in inbox.messages:
        assert not any(phrase in body_text(msg) for phrase in PAY_BEFORE), body_text(msg)
    issued = next(m for m in inbox.messages if "issued" in m["Subject"])
    assert "This invoice has expired: it can no longer be paid." in body_text(issued)
    with env.db.transaction() as s:
        kinds = s.scalars(select(Delivery.event_type).where(Delivery.account_id == acc["id"])).all()
        assert "subscription.renewal_reminder" not in kinds
    feed = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications?limit=100"))["data"]
    assert [n["type"] for n in feed].count("subscription.renewal_reminder") == 2


def test_a_reminder_waiting_to_be_sent_is_dropped_once_the_account_is_on_free(database: Database) -> None:
    """Send time: the reminder was fanned out while it held, the SMTP server was down, and by the retry the
    account had moved to Free: it is canceled, not sent; the move to Free is sent."""
    port = free_port()  # nothing listens yet
    with mail_app(database, port, delivery_backoff_seconds=3600) as env:
        acc = env.account(locale="en")
        env.pay_va(buy_by_transfer(env, acc["id"]))
        env.advance(days=28)  # 12 February: the reminder's email fails (connection refused) and waits
        with env.db.transaction() as s:
            waiting = s.scalars(select(Delivery).where(Delivery.account_id == acc["id"],
                                                       Delivery.event_type == "subscription.renewal_reminder")).one()
            assert waiting.status == DeliveryStatus.PENDING and waiting.attempts == 1 and waiting.last_error
        env.advance(days=6)  # 18 February: Free
        with smtp_server(port) as (_port, inbox):
            with env.db.transaction() as s:  # the backoff is over
                s.execute(update(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
                          .values(next_attempt_at=wall_now()))
            deliver(env)
            subjects = _subjects(inbox)
            assert "Your account has moved to the Free plan" in subjects
            assert not [s for s in subjects if s.startswith(("Reminder", "Overdue"))], subjects
            with env.db.transaction() as s:
                row = s.get(Delivery, waiting.id)
                assert row is not None and row.status == DeliveryStatus.CANCELED
                assert row.last_error == "not sent: the account moved to the Free plan" or \
                    (row.last_error or "").startswith("not sent: invoice ")

