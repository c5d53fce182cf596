"""The renewal run's baseline: what the database alone takes to do it (PostgreSQL).

A worker here does what a `langganan worker` does to the database, and nothing else: it claims 200
due subscriptions at a time (`FOR UPDATE SKIP LOCKED`), numbers their invoices with one counter
update, writes their invoices, lines, payments and events with COPY and their subscriptions with
one `UPDATE ... FROM unnest`, commits; then, for the card half, locks the payments, invoices,
subscriptions and wallets again in a second transaction (rule 11: the pending payment is committed
before the charge) and records the paid renewals: payments, invoices, subscriptions and wallets
updated, a receipt, a period, two ledger entries and six events per subscription, as the application writes
them. The row shapes are copied from rows the application wrote for the two template accounts, so
the rows are as wide as the real ones. No decisions are made: every claimed subscription is a plain renewal.

renewals.py runs it on a copy of the seeded database, with the same number of processes, before
the application's run, and prints the application's speed as a share of it.
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from langganan.kit.ids import new_id

BATCH = 200
_VA_NUMBERS = itertools.count()


def _templates(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Row shapes from what the application wrote for the template accounts."""
    with conn.cursor(row_factory=dict_row) as cur:
        invoice = cur.execute("SELECT * FROM invoices ORDER BY issued_at LIMIT 1").fetchone()
        line = cur.execute("SELECT * FROM invoice_lines ORDER BY id LIMIT 1").fetchone()
        card = cur.execute("SELECT * FROM payments WHERE method = 'card' LIMIT 1").fetchone()
        bank = cur.execute("SELECT * FROM payments WHERE method = 'bank_transfer' LIMIT 1").fetchone()
    assert invoice and line and card and bank, "seed the template accounts first"
    line.pop("id")
    return {"invoice": invoice, "line": line, "card": card, "bank": bank}


def _copy(cur: psycopg.Cursor[Any], table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _update(cur: psycopg.Cursor[Any], table: str, types: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """One `UPDATE table ... FROM unnest(...)` keyed on id; `types` names the columns set and their types."""
    if not rows:
        return
    names = ["id", *types]
    arrays = [[row[n] for row in rows] for n in names]
    casts = ", ".join(f"%s::{t}[]" for t in ["text", *types.values()])
    sets = ", ".join(f"{n} = u.{n}" for n in types)
    cur.execute(f"UPDATE {table} AS t SET {sets} FROM unnest({casts}) AS u({', '.join(names)}) WHERE t.id = u.id",
                arrays)


def _event(type_: str, account_id: str, at: datetime, **data: Any) -> dict[str, Any]:
    return {"id": new_id("evt"), "type": type_, "account_id": account_id, "data": json.dumps(data), "created_at": at}


def _issue(cur: psycopg.Cursor[Any], tpl: dict[str, Any], subs: list[dict[str, Any]], now: datetime
           ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The first transaction's writes: renewal invoices and payments, the subscriptions moved on.
    Returns the subscription updates and, for the card half, (subscription, payment) pairs."""
    month = f"{now.year:04d}/{now.month:02d}"
    last = cur.execute("INSERT INTO invoice_sequences (month, last_value) VALUES (%s, %s) ON CONFLICT (month) "
                       "DO UPDATE SET last_value = invoice_sequences.last_value + EXCLUDED.last_value "
                       "RETURNING last_value", (month, len(subs))).fetchone()["last_value"]  # type: ignore[index]
    invoices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    charges: list[tuple[dict[str, Any], dict[str, Any]]] = []
    wall = datetime.now(UTC)
    for number, sub in enumerate(subs, start=last - len(subs) + 1):
        start, card = sub["current_period_end"], sub["payment_method_id"] is not None and sub["auto_renew"]
        end = start + timedelta(days=30)
        inv = {**tpl["invoice"], "id": new_id("inv"), "number": f"INV/{month}/{number:05d}",
               "account_id": sub["account_id"], "subscription_id": sub["id"], "type": "renewal",
               "status": "unpaid", "issued_at": now, "period_start": start, "period_end": end,
               "expires_at": start + timedelta(days=6), "paid_at": None}
        inv.update({k: json.dumps(inv[k]) for k in ("seller", "buyer", "action")})
        invoices.append(inv)
        lines.append({**tpl["line"], "invoice_id": inv["id"], "account_id": sub["account_id"], "period_start": start,
                      "period_end": end})
        pay = {**tpl["card" if card else "bank"], "id": new_id("pay"), "account_id": sub["account_id"],
               "invoice_id": inv["id"], "status": "pending", "created_at": now, "updated_at": now}
        if not card:
            pay["va_number"] = f"9{os.getpid():07d}{next(_VA_NUMBERS):09d}"  # unique across processes
        payments.append(pay)
        summary = {"invoice_id": inv["id"], "number": inv["number"], "type": "renewal", "status": "unpaid",
                   "total": inv["total"], "currency": "IDR"}
        events += [_event("invoice.created", sub["account_id"], now, **summary),
                   _event("payment.created", sub["account_id"], now, payment_id=pay["id"], invoice_id=inv["id"],
                          method=pay["method"], status="pending", amount=pay["amount"], currency="IDR")]
        if card:
            updates.append({"id": sub["id"], "renewal_attempts": 1, "renewal_payment_id": pay["id"],
                            "charge_claimed_at": wall, "due_cursor": now, "next_due_at": None, "status": sub["status"],
                            "renewal_invoiced_for": sub["renewal_invoiced_for"]})
            charges.append((sub, pay))
        else:
            events += [_event("subscription.renewal_reminder", sub["account_id"], now, subscription_id=sub["id"],
                              invoice_id=inv["id"], number=inv["number"], total=inv["total"], days_left=days)
                       for days in (3, 1)]  # the default policy's two reminders
            events.append(_event("subscription.past_due", sub["account_id"], now, subscription_id=sub["id"],
                                 status="past_due", invoice_id=inv["id"], method="bank_transfer"))
            updates.append({"id": sub["id"], "renewal_attempts": sub["renewal_attempts"], "renewal_payment_id": None,
                            "charge_claimed_at": None, "due_cursor": now, "next_due_at": start + timedelta(days=3),
                            "status": "past_due", "renewal_invoiced_for": start})
    _copy(cur, "invoices", invoices)
    _copy(cur, "invoice_lines", lines)
    _copy(cur, "payments", payments)
    _copy(cur, "events", events)
    _update(cur, "subscriptions", {"renewal_attempts": "integer", "renewal_payment_id": "text",
                                   "charge_claimed_at": "timestamptz", "due_cursor": "timestamptz",
                                   "next_due_at": "timestamptz", "status": "text",
                                   "renewal_invoiced_for": "timestamptz"}, updates)
    return updates, charges


def _record(cur: psycopg.Cursor[Any], charges: list[tuple[dict[str, Any], dict[str, Any]]], now: datetime) -> None:
    """The second transaction: the card half's renewals paid and their periods started."""
    pay_ids = sorted(p["id"] for _, p in charges)
    cur.execute("SELECT * FROM payments WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (pay_ids,)).fetchall()
    invoice_ids = sorted(p["invoice_id"] for _, p in charges)
    cur.execute("SELECT * FROM invoices WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (invoice_ids,)).fetchall()
    cur.execute("SELECT * FROM unapplied_payments WHERE invoice_id = ANY(%s) AND reason = 'underpayment' "
                "AND status = 'open'", (invoice_ids,)).fetchall()
    cur.execute("SELECT * FROM subscriptions WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (sorted(s["id"] for s, _ in charges),)).fetchall()
    accounts = sorted(s["account_id"] for s, _ in charges)
    cur.execute("SELECT * FROM accounts WHERE id = ANY(%s)", (accounts,)).fetchall()
    wallets = {w[1]: w for w in cur.execute(
        "SELECT id, account_id, balance, granted_balance FROM wallets WHERE account_id = ANY(%s) "
        "AND kind = 'conversation' ORDER BY id FOR UPDATE", (accounts,)).fetchall()}
    entries, events, subs, wallet_rows, receipts, periods = [], [], [], [], [], []
    for sub, pay in charges:
        receipts.append({"id": new_id("rcp"), "account_id": sub["account_id"], "payment_id": pay["id"],
                         "notification_id": None, "amount": pay["amount"], "currency": "IDR", "received_at": now})
        start = sub["current_period_end"]
        end = start + timedelta(days=30)
        periods.append({"id": new_id("per"), "subscription_id": sub["id"], "account_id": sub["account_id"],
                        "starts_at": start, "plan_code": "growth",
                        "interval": "month", "kind": "paid", "invoice_id": pay["invoice_id"], "recorded_at": now})
        wallet_id, _, balance, granted = wallets[sub["account_id"]]
        expired, grant = granted, 100_000
        entries += [{"wallet_id": wallet_id, "account_id": sub["account_id"],
                     "type": "expiry", "amount": -expired, "granted_amount": -expired,
                     "balance_after": balance - expired, "reference": "granted credit expired", "created_at": start},
                    {"wallet_id": wallet_id, "account_id": sub["account_id"],
                     "type": "grant", "amount": grant, "granted_amount": grant,
                     "balance_after": balance - expired + grant, "reference": "Growth included credit",
                     "created_at": now}]
        wallet_rows.append({"id": wallet_id, "balance": balance - expired + grant, "granted_balance": grant,
                            "granted_expires_at": end, "updated_at": now})
        subs.append({"id": sub["id"], "current_period_start": start, "current_period_end": end,
                     "allotment_start": start, "allotment_end": end, "status": "active", "next_due_at": end,
                     "updated_at": now})
        who = sub["account_id"]
        events += [_event("payment.succeeded", who, now, payment_id=pay["id"], invoice_id=pay["invoice_id"],
                          method="card", status="succeeded", amount=pay["amount"], currency="IDR",
                          received=pay["amount"], applied_unapplied_payment_ids=[]),
                   _event("invoice.paid", who, now, invoice_id=pay["invoice_id"], type="renewal", status="paid",
                          total=pay["amount"], currency="IDR"),
                   _event("subscription.renewal_paid", who, now, subscription_id=sub["id"], plan="growth",
                          next_period_start=start.isoformat(), next_period_end=end.isoformat()),
                   _event("wallet.grant_expired", who, start, wallet="conversation", amount=expired,
                          balance=balance - expired),
                   _event("wallet.credit_granted", who, now, wallet="conversation", amount=grant,
                          expires_at=end.isoformat()),
                   _event("subscription.renewed", who, now, subscription_id=sub["id"], plan="growth",
                          current_period_start=start.isoformat(), current_period_end=end.isoformat())]
    _update(cur, "payments", {"status": "text", "provider_ref": "text", "updated_at": "timestamptz"},
            [{"id": p["id"], "status": "succeeded", "provider_ref": f"ch_{p['id']}", "updated_at": now}
             for _, p in charges])
    _update(cur, "invoices", {"status": "text", "paid_at": "timestamptz"},
            [{"id": p["invoice_id"], "status": "paid", "paid_at": now} for _, p in charges])
    _update(cur, "subscriptions", {"current_period_start": "timestamptz", "current_period_end": "timestamptz",
                                   "allotment_start": "timestamptz", "allotment_end": "timestamptz",
                                   "status": "text", "next_due_at": "timestamptz", "updated_at": "timestamptz"},
            subs)
    _update(cur, "wallets", {"balance": "bigint", "granted_balance": "bigint", "granted_expires_at": "timestamptz",
                             "updated_at": "timestamptz"}, wallet_rows)
    _copy(cur, "payment_receipts", receipts)
    _copy(cur, "subscription_periods", periods)
    _copy(cur, "wallet_entries", entries)
    _copy(cur, "events", events)


def templates(dsn: str) -> dict[str, Any]:
    """Row shapes from what the application wrote for the template accounts (read before timing)."""
    with psycopg.connect(dsn) as conn:
        return _templates(conn)


def run(dsn: str, tpl: dict[str, Any], now: datetime) -> int:
    """Work off every due subscription; returns how many this process claimed."""
    conn = psycopg.connect(dsn)
    claimed = 0
    while True:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            subs = cur.execute("SELECT * FROM subscriptions WHERE next_due_at <= %s ORDER BY next_due_at LIMIT %s "
                               "FOR UPDATE SKIP LOCKED", (now, BATCH)).fetchall()
            if not subs:
                break
            # the claimed subscriptions' invoices that expire by now, which their agendas expire in turn
            cur.execute("SELECT * FROM invoices WHERE subscription_id = ANY(%s) AND status = 'unpaid' "
                        "AND expires_at <= %s ORDER BY expires_at, id FOR UPDATE",
                        ([sub["id"] for sub in subs], now)).fetchall()
            _, charges = _issue(cur, tpl, subs, now)
        claimed += len(subs)
        if charges:
            with conn.transaction(), conn.cursor() as cur:
                _record(cur, charges, now)
    conn.close()
    return claimed
