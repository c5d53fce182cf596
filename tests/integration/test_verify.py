"""`langganan verify` reports each broken promise of the books (issue 12): one real dataset per backend
(a bank-transfer purchase with usage, a top-up and a held broadcast; a card renewal declined until the
account fell back to Free; a trial), clean as built; then, per invariant, one row corrupted in a
transaction that is rolled back, and the violation reported with the ids involved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from langganan.app import open_database
from langganan.config import Settings
from langganan.kit.db import Database
from langganan.kit.migrate import upgrade
from langganan.verify import Violation, violations
from tests.conftest import own_pg_database
from tests.engine_support import engine


@dataclass
class Books:
    db: Database
    settings: Settings
    ids: dict[str, str]  # names of the rows the corruptions touch -> their ids


# PPN since 2025 on plans: 12% on DPP nilai lain 11/12, so their invoices carry a tax base of their own (top-ups
# stay untaxed: their tax base is their whole price, as on every invoice issued before migration 0020).
TAXED: dict[str, Any] = {"tax_rate_subscription": 12, "tax_base_subscription": "11/12"}


def _build(db: Database) -> Books:
    with engine(db, **TAXED) as env:
        bank = env.account(external_id="bank")["id"]
        env.buy(bank, "growth")
        for i in range(3):
            env.ok(env.post("/v1/usage", {"id": f"msg-{i}", "account_id": bank, "meter": "conversation_reply"}), 201)
        env.top_up(bank, "broadcast", 10_000)
        env.ok(env.post("/v1/reservations", {"account_id": bank, "meter": "broadcast_message", "quantity": 2}), 201)
        card = env.account(external_id="card")["id"]
        good = env.card(card)
        env.ok(env.post(f"/v1/accounts/{card}/subscription/change",
                        {"plan": "growth", "payment_method": "card", "payment_method_id": good}))
        bad = env.card(card, "4000000000000002")
        env.ok(env.post(f"/v1/accounts/{card}/subscription/auto-renew", {"enabled": True, "payment_method_id": bad}))
        trial = env.account(external_id="trial", start_trial=True)["id"]
        renewing = env.account(external_id="renewing")["id"]
        env.buy(renewing, "starter")
        env.advance(days=25)  # its renewal invoice is issued 7 days before the period ends
        renewal = env.ok(env.get(f"/v1/invoices?account_id={renewing}&type=renewal"))["data"][0]
        env.pay_va(renewal)
        env.advance(days=15)
        settings = env.settings
    with db.transaction() as s:
        def one(sql: str, **params: Any) -> str:
            return str(s.execute(text(sql), params).scalars().first())

        ids = {
            "bank": bank, "card": card, "trial": trial,
            "bank_wallet": one("SELECT id FROM wallets WHERE account_id = :a AND kind = 'conversation'", a=bank),
            "broadcast_wallet": one("SELECT id FROM wallets WHERE account_id = :a AND kind = 'broadcast'", a=bank),
            "first_entry": one("SELECT min(id) FROM wallet_entries WHERE wallet_id = "
                               "(SELECT id FROM wallets WHERE account_id = :a AND kind = 'conversation')", a=bank),
            "usage_entry": one("SELECT id FROM wallet_entries WHERE type = 'usage' AND reference = 'msg-0'"),
            "purchase": one("SELECT id FROM invoices WHERE account_id = :a AND type = 'subscription'", a=bank),
            "failed_renewal": one("SELECT id FROM invoices WHERE account_id = :a AND type = 'renewal'", a=card),
            "bank_sub": one("SELECT id FROM subscriptions WHERE account_id = :a", a=bank),
            "card_sub": one("SELECT id FROM subscriptions WHERE account_id = :a", a=card),
            "trial_sub": one("SELECT id FROM subscriptions WHERE account_id = :a", a=trial),
            "renewing_sub": one("SELECT id FROM subscriptions WHERE account_id = :a", a=renewing),
            "paid_row": one("SELECT p.id FROM subscription_periods p JOIN invoices i ON i.id = p.invoice_id "
                            "WHERE i.account_id = :a AND i.type = 'subscription'", a=bank),
            "grace_row": one("SELECT p.id FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id "
                             "WHERE p.kind = 'grace' AND s.account_id = :a", a=card),
            "month": one("SELECT month FROM invoice_sequences ORDER BY month"),
        }
    assert all(v not in ("None", "") for v in ids.values()), ids
    return Books(db, settings, ids)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('verify') / 'books.db'}"
        upgrade(url)
        db = open_database(url)
        yield _build(db)
        db.dispose()
        return
    for url in own_pg_database(request, "verify"):
        db = open_database(url)
        yield _build(db)
        db.dispose()


def _found_after(books: Books, *statements: str) -> list[Violation]:
    """The violations verify finds once `statements` ran, in a transaction rolled back after."""
    with books.db.engine.connect() as conn:
        tx = conn.begin()
        try:
            for sql in statements:
                conn.execute(text(sql.format(**books.ids)))
            with Session(bind=conn) as session:
                return violations(session, books.settings)
        finally:
            tx.rollback()


def test_the_books_as_built_are_clean(books: Books) -> None:
    assert [str(v) for v in _found_after(books)] == []


def test_taxed_invoices_and_invoices_from_before_the_tax_base_are_clean(books: Books) -> None:
    """The purchase is taxed on DPP nilai lain (its seal covers the tax base); an invoice written without a
    tax base (as before migration 0020) is taxed on its whole price, and its seal holds without one."""
    with books.db.transaction() as s:
        purchase = s.execute(text("SELECT subtotal, discount, tax_base, tax, total FROM invoices "
                                  "WHERE id = :i"), {"i": books.ids["purchase"]}).one()
    # Growth Rp499.000: DPP ⌊499.000 × 11/12⌋ = 457.416, PPN ⌊12% × 457.416⌋ = 54.889
    assert tuple(purchase) == (499_000, 0, 457_416, 54_889, 553_889)
    untaxed = "(SELECT id FROM invoices WHERE type = 'top_up' AND tax_base = subtotal - discount)"
    with books.db.transaction() as s:
        assert s.execute(text(f"SELECT count(*) FROM invoices WHERE id = {untaxed}")).scalar() == 1
    assert _found_after(books, f"UPDATE invoices SET tax_base = NULL WHERE id = {untaxed}") == []


# (invariant code, the corruption, the id the violation must name)
CORRUPTIONS = [
    ("wallet_balance_mismatch", ["UPDATE wallets SET balance = balance + 1 WHERE id = '{bank_wallet}'"],
     "bank_wallet"),
    ("wallet_granted_mismatch", ["UPDATE wallets SET granted_balance = granted_balance - 1 WHERE id = '{bank_wallet}'"],
     "bank_wallet"),
    ("wallet_granted_out_of_range",
     ["UPDATE wallets SET granted_balance = balance + 5 WHERE id = '{bank_wallet}'"], "bank_wallet"),
    ("wallet_reserved_mismatch", ["UPDATE wallets SET reserved = reserved + 650 WHERE id = '{broadcast_wallet}'"],
     "broadcast_wallet"),
    ("ledger_chain_broken", ["UPDATE wallet_entries SET balance_after = balance_after + 1 WHERE id = {first_entry}"],
     "bank_wallet"),
    ("usage_debit_without_event", ["UPDATE wallet_entries SET body_hash = NULL WHERE id = {usage_entry}"],
     "bank_wallet"),
    ("usage_debit_without_event", ["UPDATE wallet_entries SET reference = NULL WHERE id = {usage_entry}"],
     "bank_wallet"),
    ("usage_debited_twice", ["DROP INDEX ux_wallet_entries_usage_event",
                             "INSERT INTO wallet_entries (wallet_id, account_id, type, amount, granted_amount, "
                             "balance_after, meter, quantity, reference, body_hash, created_at) SELECT wallet_id, "
                             "account_id, type, 0, 0, "
                             "balance_after, meter, quantity, reference, body_hash, created_at FROM wallet_entries "
                             "WHERE id = {usage_entry}"], None),
    ("usage_amount_mismatch", ["UPDATE wallet_entries SET amount = -amount WHERE id = {usage_entry}"],
     "bank_wallet"),
    ("invoice_lines_mismatch", ["UPDATE invoice_lines SET amount = amount + 1 WHERE invoice_id = '{purchase}'"],
     "purchase"),
    ("invoice_total_mismatch", ["UPDATE invoices SET total = total + 1 WHERE id = '{purchase}'"], "purchase"),
    ("invoice_changed", ["UPDATE invoices SET package = 'Pro (monthly)' WHERE id = '{purchase}'"], "purchase"),
    ("invoice_changed", ["UPDATE invoices SET tax_base = tax_base - 1 WHERE id = '{purchase}'"], "purchase"),
    ("invoice_changed", ["UPDATE invoices SET tax_base = NULL WHERE id = '{purchase}'"], "purchase"),
    ("invoice_tax_base", ["UPDATE invoices SET tax_base = subtotal + 1 WHERE id = '{purchase}'"], "purchase"),
    ("invoice_status_times", ["UPDATE invoices SET paid_at = NULL WHERE id = '{purchase}'"], "purchase"),
    ("invoice_unnumbered", ["UPDATE invoices SET number = 'PENDING/x' WHERE id = '{purchase}'"], "purchase"),
    ("invoice_number_month", ["UPDATE invoices SET number = replace(number, 'INV/2026/', 'INV/2031/') "
                              "WHERE id = '{purchase}'"], "purchase"),
    ("invoice_number_gap", ["UPDATE invoice_sequences SET last_value = last_value + 1 WHERE month = '{month}'"],
     "month"),
    ("renewal_issued_twice",
     ["DROP INDEX uq_invoices_renewal",
      "INSERT INTO invoices (id, number, account_id, subscription_id, type, status, currency, subtotal, discount, "
      "tax, tax_rate_bps, total, package, seller, buyer, action, period_start, period_end, issued_at, closed_at) "
      "SELECT 'inv_again', 'X', account_id, subscription_id, type, 'expired', currency, subtotal, discount, tax, "
      "tax_rate_bps, total, package, seller, buyer, action, period_start, period_end, issued_at, closed_at "
      "FROM invoices WHERE id = '{failed_renewal}'"], "card_sub"),
    ("period_history_missing", ["DELETE FROM subscription_periods WHERE subscription_id = '{trial_sub}'"],
     "trial_sub"),
    ("period_overlap", ["INSERT INTO subscription_periods (id, subscription_id, account_id, starts_at, plan_code, "
                        "interval, kind, recorded_at) SELECT 'per_zzzz', subscription_id, account_id, starts_at, "
                        "plan_code, interval, kind, "
                        "recorded_at FROM subscription_periods WHERE id = '{paid_row}'"], "bank_sub"),
    ("period_state_mismatch", ["UPDATE subscriptions SET plan_code = 'pro' WHERE id = '{trial_sub}'"], "trial_sub"),
    ("period_unexplained", ["UPDATE subscription_periods SET invoice_id = NULL WHERE id = '{paid_row}'"], "bank_sub"),
    ("period_unexplained", ["UPDATE invoices SET status = 'unpaid', closed_at = NULL "
                            "WHERE id = '{failed_renewal}'"], "card_sub"),
    ("period_unexplained", ["UPDATE subscription_periods SET kind = 'paid' WHERE id = '{grace_row}'"], "card_sub"),
    ("paid_invoice_unused", ["UPDATE subscription_periods SET invoice_id = NULL, kind = 'free', plan_code = 'free' "
                             "WHERE id = '{paid_row}'"], "purchase"),
    ("paid_invoice_used_twice", ["INSERT INTO subscription_periods (id, subscription_id, account_id, starts_at, "
                                 "plan_code, interval, kind, invoice_id, recorded_at) SELECT 'per_zzzz', "
                                 "subscription_id, account_id, starts_at, plan_code, interval, kind, invoice_id, "
                                 "recorded_at FROM "
                                 "subscription_periods WHERE id = '{paid_row}'"], "purchase"),
    ("trial_twice", ["INSERT INTO subscription_periods (id, subscription_id, account_id, starts_at, plan_code, "
                     "interval, kind, recorded_at) SELECT 'per_0000', subscription_id, account_id, starts_at, "
                     "plan_code, interval, kind, "
                     "recorded_at FROM subscription_periods WHERE subscription_id = '{trial_sub}' AND kind = 'trial'"],
     "trial_sub"),
    ("event_count", ["UPDATE events SET type = 'gone' WHERE type = 'invoice.paid' AND account_id = '{bank}'"],
     "purchase"),
    ("event_count", ["INSERT INTO events (id, type, account_id, data, created_at) SELECT 'evt_again', type, "
                     "account_id, data, created_at FROM events WHERE type = 'payment.failed' AND account_id = '{card}' "
                     "LIMIT 1"], None),
    ("event_count", ["UPDATE events SET type = 'gone' WHERE type = 'subscription.renewed'"], "renewing_sub"),
]


@pytest.mark.parametrize(("code", "statements", "names"), CORRUPTIONS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CORRUPTIONS)])
def test_each_broken_promise_is_reported_with_its_ids(books: Books, code: str, statements: list[str],
                                                      names: str | None) -> None:
    found = _found_after(books, *statements)
    hits = [v for v in found if v.code == code]
    assert hits, f"{code} not reported; found {[str(v) for v in found]}"
    if names is not None:
        wanted = books.ids[names]
        assert any(wanted in v.ids.values() for v in hits), [str(v) for v in hits]


def test_verify_command_prints_violations_and_json_and_exits_1(books: Books) -> None:
    cli = str(Path(sys.executable).with_name("langganan"))
    env = {**os.environ, "LANGGANAN_DATABASE_URL": books.db.url, "LANGGANAN_MODE": "sandbox",
           "LANGGANAN_SANDBOX_GATEWAY_SECRET": "test-secret"}
    clean = subprocess.run([cli, "verify", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout) == {"ok": True, "violations": []}
    with books.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE wallets SET balance = balance + 7 WHERE id = '{books.ids['bank_wallet']}'"))
    try:
        broken = subprocess.run([cli, "verify", "--json"], env=env, capture_output=True, text=True, timeout=120)
        human = subprocess.run([cli, "verify"], env=env, capture_output=True, text=True, timeout=120)
    finally:
        with books.db.engine.begin() as conn:
            conn.execute(text(f"UPDATE wallets SET balance = balance - 7 WHERE id = '{books.ids['bank_wallet']}'"))
    assert broken.returncode == 1 and human.returncode == 1
    report = json.loads(broken.stdout)
    assert report["ok"] is False
    assert [(v["code"], v["ids"]["wallet_id"]) for v in report["violations"]] == \
        [("wallet_balance_mismatch", books.ids["bank_wallet"])]
    assert "wallet_balance_mismatch" in human.stdout and books.ids["bank_wallet"] in human.stdout
