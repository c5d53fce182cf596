"""Emails through a real SMTP server, in English and Bahasa Indonesia; the in-app feed; usage alerts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from langganan.app import create_app, prepare
from langganan.kit.db import Database
from langganan.notifications.worker import NotifyReport, run_notifications
from tests.conftest import BILLING, Env, make_settings
from tests.notify_support import SMTP_PASSWORD, SMTP_USER, Inbox, body_text, smtp_server


def deliver(env: Env) -> NotifyReport:
    """What the worker does every few seconds: fan out new events, send what is due."""
    return run_notifications(env.db, env.client.app.state.ctx.courier)


@pytest.fixture
def mail(database: Database) -> Iterator[tuple[Env, Inbox]]:
    """The app sending its email over SMTP to a real server (aiosmtpd) that checks the login."""
    with smtp_server() as (port, inbox):
        settings = make_settings(database, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
                                 smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD,
                                 smtp_from="Langganan Billing <billing@langganan.example>")
        prepare(settings, database, migrate_if_empty=False)
        with TestClient(create_app(settings, database)) as client:
            from tests.conftest import ADMIN_KEY

            yield Env(db=database, settings=settings, client=client,
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}), inbox


def _buy_growth(env: Env, account_id: str) -> dict[str, Any]:
    res = env.ok(env.post(f"/v1/accounts/{account_id}/subscription/change",
                          {"plan": "growth", "payment_method": "bank_transfer"}))
    return dict(res["invoice"])


def test_invoice_and_payment_emails_in_english(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en", name="Toko Maju")
    invoice = _buy_growth(env, acc["id"])
    deliver(env)
    (issued,) = inbox.reaching(acc["email"])
    assert issued["Subject"] == f"Invoice {invoice['number']} issued: Rp499,000"
    assert issued["From"] == "Langganan Billing <billing@langganan.example>"
    # to the billing contact, the owner in copy
    assert (issued["To"], issued["Cc"]) == (BILLING["email"], acc["email"])
    text = body_text(issued)
    assert text.startswith("Hello Siti Rahayu,\n\n")
    assert f"Invoice {invoice['number']} for Growth (monthly)" in text and "Total: Rp499,000" in text
    assert "Bank: BCA" in text and f"Virtual account number: {invoice['payment']['va_number']}" in text
    assert "Pay before: 16 January 2026, 10:00 WIB" in text  # 24 hours, in the account's time zone
    env.pay_va(invoice)
    deliver(env)
    assert [m["Subject"] for m in inbox.reaching(acc["email"])] == [
        f"Invoice {invoice['number']} issued: Rp499,000",
        f"Payment received: invoice {invoice['number']} is paid (Rp499,000)"]
    assert "We received your payment of Rp499,000" in body_text(inbox.reaching(acc["email"])[1])
    assert all(inbox.authenticated)
    assert deliver(env).delivered.total == 0  # nothing is sent twice


def test_invoice_and_payment_emails_in_bahasa_indonesia(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="id", name="Warung Sejahtera")
    invoice = _buy_growth(env, acc["id"])
    env.pay_va(invoice)
    deliver(env)
    issued, paid = inbox.reaching(acc["email"])
    assert issued["Subject"] == f"Invoice {invoice['number']} diterbitkan: Rp499.000"
    text = body_text(issued)
    assert text.startswith("Halo Siti Rahayu,\n\n")
    assert f"Invoice {invoice['number']} untuk Growth (monthly) telah diterbitkan: Rp499.000." in text
    # by the time it was sent the invoice was paid: no payment instructions for a paid invoice
    assert "Invoice ini sudah dibayar." in text
    assert paid["Subject"] == f"Pembayaran diterima: invoice {invoice['number']} lunas (Rp499.000)"
    assert "Kami telah menerima pembayaran Anda sebesar Rp499.000" in body_text(paid)
    assert "Dibayar pada: 15 Januari 2026, 10:00 WIB" in body_text(paid)


def test_an_unpaid_invoice_email_in_bahasa_indonesia_carries_the_virtual_account(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="id", timezone="Asia/Makassar")
    invoice = _buy_growth(env, acc["id"])
    deliver(env)
    text = body_text(inbox.reaching(acc["email"])[0])
    assert f"Nomor virtual account: {invoice['payment']['va_number']}" in text
    assert "Bayar sebelum: 16 Januari 2026, 11:00 WITA" in text  # the account's own time zone
    assert "Cara membayar: transfer tepat Rp499.000" in text


def test_the_in_app_feed_lists_titles_in_the_account_locale_and_marks_them_read(env: Env) -> None:
    en, other = env.account(locale="en"), env.account(locale="id")
    invoice = env.buy(en["id"], "growth")
    env.buy(other["id"], "growth")
    deliver(env)
    feed = env.ok(env.get(f"/v1/accounts/{en['id']}/notifications?limit=100"))
    by_type = {n["type"]: n for n in feed["data"]}
    assert by_type["invoice.paid"]["title"] == f"Payment received: invoice {invoice['number']} is paid (Rp499,000)"
    assert by_type["subscription.upgraded"]["title"] == "You are now on Growth"
    assert by_type["account.created"]["title"] == "Account activity: account.created"  # no template: generic
    assert all(n["read_at"] is None for n in feed["data"])
    assert [n["type"] for n in feed["data"]] == list(reversed(env.event_types(en["id"])))  # newest first
    other_feed = env.ok(env.get(f"/v1/accounts/{other['id']}/notifications?limit=100"))["data"]
    upgraded = next(n for n in other_feed if n["type"] == "subscription.upgraded")
    assert upgraded["title"] == "Anda kini menggunakan Growth"

    first = feed["data"][0]
    read = env.ok(env.post(f"/v1/accounts/{en['id']}/notifications/{first['id']}/read"))
    assert read["read_at"] is not None
    again = env.ok(env.post(f"/v1/accounts/{en['id']}/notifications/{first['id']}/read"))
    assert again["read_at"] == read["read_at"]
    unread = env.ok(env.get(f"/v1/accounts/{en['id']}/notifications?unread=true&limit=100"))["data"]
    assert first["id"] not in [n["id"] for n in unread] and len(unread) == len(feed["data"]) - 1

    page = env.ok(env.get(f"/v1/accounts/{en['id']}/notifications?limit=2"))
    assert page["has_more"] and len(page["data"]) == 2
    nxt = env.ok(env.get(f"/v1/accounts/{en['id']}/notifications?limit=2&starting_after={page['data'][1]['id']}"))
    assert nxt["data"][0]["id"] == feed["data"][2]["id"]

    wrong = env.post(f"/v1/accounts/{other['id']}/notifications/{first['id']}/read")
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "notification_not_found"
    missing = env.get("/v1/accounts/acc_missing/notifications")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "account_not_found"


@pytest.mark.parametrize(("locale", "title", "summary"), [
    ("en", "Account activity: promotion.ending", "promotion.ending was recorded on your account."),
    ("id", "Aktivitas akun: promotion.ending", "promotion.ending tercatat pada akun Anda."),
])
def test_a_message_that_fails_to_render_falls_back_to_the_generic_one_naming_the_event(
        env: Env, locale: str, title: str, summary: str) -> None:
    from langganan.events import service as events

    acc = env.account(locale=locale)
    with env.db.transaction() as s:  # a date the account's time zone cannot hold: the template fails
        events.emit(s, "promotion.ending", acc["id"], {"code": "SPRING20", "ends_at": "0001-01-01T00:00:00+05:00"},
                    env.now())
    deliver(env)
    feed = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications?limit=100"))["data"]
    (item,) = [n for n in feed if n["type"] == "promotion.ending"]
    assert (item["title"], item["body"]) == (title, summary)
    assert "_unrendered" not in str(feed)


def _use(env: Env, account_id: str, quantity: int, meter: str = "conversation_reply") -> dict[str, Any]:
    import os

    return dict(env.ok(env.post("/v1/usage", {"id": f"u-{os.urandom(6).hex()}", "account_id": account_id,
                                              "meter": meter, "quantity": quantity}), 201))


def _count(env: Env, account_id: str, type_: str) -> int:
    return env.event_types(account_id).count(type_)


def test_low_balance_and_depleted_alert_once_and_again_after_a_top_up(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en")
    assert _use(env, acc["id"], 334)["balance_after"] == 4980  # 15.000 - 334 × Rp30: below Rp5.000
    assert _use(env, acc["id"], 10)["balance_after"] == 4680
    assert _count(env, acc["id"], "wallet.low_balance") == 1
    env.top_up(acc["id"], "conversation", 30000)  # back above the threshold: re-armed
    assert _use(env, acc["id"], 990)["balance_after"] == 4980
    assert _count(env, acc["id"], "wallet.low_balance") == 2
    assert _use(env, acc["id"], 166)["balance_after"] == 0
    assert _count(env, acc["id"], "wallet.depleted") == 1
    rejected = env.post("/v1/usage", {"id": "one-more", "account_id": acc["id"], "meter": "conversation_reply"})
    assert rejected.status_code == 402
    assert _count(env, acc["id"], "wallet.depleted") == 1
    deliver(env)
    # usage alerts go to the billing contact alone (no copy to the owner)
    assert all(m["To"] == BILLING["email"] and m["Cc"] is None for m in inbox.messages if "balance" in m["Subject"])
    alerts = [m["Subject"] for m in inbox.reaching(BILLING["email"]) if "balance" in m["Subject"]]
    assert alerts == ["Your conversation balance is low: Rp4,980", "Your conversation balance is low: Rp4,980",
                      "Your conversation balance is used up"]
    low = next(m for m in inbox.reaching(BILLING["email"]) if "low" in m["Subject"])
    assert "at or below your alert threshold of Rp5,000" in body_text(low)
    env.assert_books()


def test_a_period_roll_is_one_movement_not_a_dip_to_zero(env: Env) -> None:
    acc = env.account()
    _use(env, acc["id"], 400)  # 3.000 of granted credit left: low balance
    assert _count(env, acc["id"], "wallet.low_balance") == 1
    env.advance(days=31)  # the grant expires and the next one arrives in one transaction
    assert env.wallet(acc["id"])["balance"] == 15000
    assert _count(env, acc["id"], "wallet.depleted") == 0
    _use(env, acc["id"], 400)  # re-armed by the new grant
    assert _count(env, acc["id"], "wallet.low_balance") == 2


def test_a_wallet_threshold_can_be_set_and_reset(env: Env) -> None:
    acc = env.account()
    path = f"/v1/accounts/{acc['id']}/wallets/conversation"
    assert env.wallet(acc["id"])["low_balance_threshold"] == 5000  # the configured default
    assert env.ok(env.put(path, {"low_balance_threshold": 10000}))["low_balance_threshold"] == 10000
    _use(env, acc["id"], 167)  # 14.990 → 9.990
    events = env.ok(env.get(f"/v1/events?account_id={acc['id']}&type=wallet.low_balance"))["data"]
    assert [e["data"]["threshold"] for e in events] == [10000] and events[0]["data"]["balance"] == 9990
    assert env.ok(env.put(path, {"low_balance_threshold": None}))["low_balance_threshold"] == 5000
    for body, code in (({"low_balance_threshold": -1}, 422), ({}, 422), ({"low_balance_threshold": "x"}, 422),
                       ({"low_balance_threshold": 1, "other": 1}, 422)):
        assert env.put(path, body).status_code == code
    bad = env.put(f"/v1/accounts/{acc['id']}/wallets/savings", {"low_balance_threshold": 1})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "wallet_not_found"
    assert env.wallet(acc["id"])["low_balance_threshold"] == 5000


def _quota_events(env: Env, account_id: str) -> list[tuple[str, int]]:
    rows = env.ok(env.get(f"/v1/events?account_id={account_id}&type=quota.threshold_reached&limit=100"))["data"]
    return [(e["data"]["quota"], e["data"]["threshold"]) for e in reversed(rows)]


def test_contacts_and_users_quotas_alert_at_80_and_100_percent_once_until_crossed_anew(
        mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="id")
    counts = f"/v1/accounts/{acc['id']}/usage-counts"
    for contacts in (800, 900, 1000, 1000, 700, 850):  # Free: 1.000 contacts
        env.ok(env.put(counts, {"contacts": contacts}))
    assert _quota_events(env, acc["id"]) == [("contacts", 80), ("contacts", 100), ("contacts", 80)]
    env.ok(env.put(counts, {"users": 1}))  # Free: 1 user, straight to 100%: only the highest level
    assert _quota_events(env, acc["id"])[-1] == ("users", 100)
    assert len(_quota_events(env, acc["id"])) == 4
    deliver(env)
    subjects = [m["Subject"] for m in inbox.reaching(BILLING["email"])]
    assert subjects == ["Anda telah menggunakan 80% kontak", "Anda telah menggunakan 100% kontak",
                        "Anda telah menggunakan 80% kontak", "Anda telah menggunakan 100% pengguna"]
    assert "Anda telah menggunakan 800 dari 1.000 kontak (80%)." in body_text(inbox.reaching(BILLING["email"])[0])


def test_the_broadcast_quota_alerts_once_per_period(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "starter", "year")  # 1.000 broadcasts a month, monthly allotments
    env.top_up(acc["id"], "broadcast", 1_500_000)
    _use(env, acc["id"], 799, "broadcast_message")
    assert _quota_events(env, acc["id"]) == []
    _use(env, acc["id"], 1, "broadcast_message")
    _use(env, acc["id"], 100, "broadcast_message")
    _use(env, acc["id"], 100, "broadcast_message")
    assert _quota_events(env, acc["id"]) == [("broadcasts", 80), ("broadcasts", 100)]
    env.advance(days=31)  # a new monthly allotment resets the quota and re-arms its alerts
    _use(env, acc["id"], 850, "broadcast_message")
    assert _quota_events(env, acc["id"]) == [("broadcasts", 80), ("broadcasts", 100), ("broadcasts", 80)]
    env.assert_books()


def test_a_decline_is_told_in_the_accounts_language_not_the_gateways(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="id", name="Toko Maju")
    card = env.card(acc["id"], "4000000000009995")  # insufficient funds; the gateway says so in English
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                   {"plan": "growth", "payment_method": "card", "payment_method_id": card})
    assert res.status_code == 402 and res.json()["error"]["message"] == "The card has insufficient funds."
    deliver(env)
    failed = [m for m in inbox.reaching(acc["email"]) if m["Subject"].startswith("Pembayaran gagal")]
    assert len(failed) == 1
    text = body_text(failed[0])
    assert "gagal: Dana kartu tidak cukup." in text and "insufficient" not in text
    feed = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications"))["data"]
    assert any("Dana kartu tidak cukup." in n["body"] for n in feed)
