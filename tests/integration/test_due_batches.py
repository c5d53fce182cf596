"""A due-runner batch numbers its invoices and writes its events at its end, and records its card
charges' outcomes together (bench/renewals.py's speed-ups): numbers stay gapless per month and match
the events, a subscription whose step fails leaves no invoice, number or event behind, and a decline
in the middle of a batch of charges is recorded for that subscription only."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import event, select

from langganan.due import run_due
from langganan.events.models import Event
from langganan.invoices.models import Invoice
from langganan.payments.models import Payment
from langganan.subscriptions.models import Subscription
from tests.conftest import Env
from tests.integration.test_due_workers import FEB_16, _runner, _set_clock

FEB_1 = datetime.fromisoformat("2026-02-01T00:00:00+07:00")


def test_a_batch_numbers_gaplessly_and_a_failed_subscription_leaves_nothing(env: Env) -> None:
    bank = []
    for _ in range(5):
        acc = env.account()["id"]
        env.buy(acc, "growth")
        bank.append(env.subscription(acc)["id"])
    cards = []
    for number in ("4242424242424242", "4000000000000002", "4242424242424242"):
        acc = env.account()["id"]
        good = env.card(acc)
        env.ok(env.post(f"/v1/accounts/{acc}/subscription/change",
                        {"plan": "growth", "payment_method": "card", "payment_method_id": good}))
        if number != "4242424242424242":  # the saved card declines from the renewal on
            bad = env.card(acc, number)
            env.ok(env.post(f"/v1/accounts/{acc}/subscription/auto-renew",
                            {"enabled": True, "payment_method_id": bad}))
        cards.append(env.subscription(acc)["id"])
    broken = bank[2]
    with env.db.transaction() as s:  # its renewal cannot be priced: its step raises inside the batch
        sub = s.get(Subscription, broken)
        assert sub is not None
        sub.pending_interval = "fortnight"  # a corrupt row
    _set_clock(env, FEB_16)
    runner = _runner(env, due_batch=50)
    run_due(runner)
    runner.db.dispose()

    with env.db.transaction() as s:
        renewals = s.scalars(select(Invoice).where(Invoice.type == "renewal")).all()
        events = s.scalars(select(Event).order_by(Event.id)).all()
        card_payments = s.scalars(select(Payment).where(Payment.method == "card",
                                                        Payment.invoice_id.in_([i.id for i in renewals]))).all()
        statuses = {sid: s.get(Subscription, sid).status for sid in bank + cards}  # type: ignore[union-attr]
    assert {i.subscription_id for i in renewals} == set(bank + cards) - {broken}
    # Every invoice of February (the bank renewals issued ahead on Feb 8, the card renewals on Feb 15)
    # is numbered, in one gapless sequence, in issue order.
    feb = sorted(renewals, key=lambda i: i.number)
    assert all(re.fullmatch(r"INV/2026/02/\d{5}", i.number) for i in feb), [i.number for i in feb]
    assert [int(i.number[-5:]) for i in feb] == list(range(1, len(feb) + 1))
    assert [i.issued_at for i in feb] == sorted(i.issued_at for i in feb)
    by_id = {i.id: i for i in renewals}
    created = [e for e in events if e.type == "invoice.created" and e.data["invoice_id"] in by_id]
    assert sorted(e.data["invoice_id"] for e in created) == sorted(by_id)
    assert all(e.data["number"] == by_id[e.data["invoice_id"]].number for e in created)
    reminders = [e for e in events if e.type == "subscription.renewal_reminder"]
    assert len(reminders) == 2 * 4 and all(e.data["number"] == by_id[e.data["invoice_id"]].number for e in reminders)
    assert not any("PENDING/" in str(e.data) for e in events)
    # The failed subscription: nothing of this run, still due for the next one.
    broken_sub_events = [e for e in events if e.data.get("subscription_id") == broken and e.created_at >= FEB_1]
    assert broken_sub_events == []
    assert statuses[broken] == "active"
    # The card batches: the declining card's charge at period end and its first retry a day later
    # are recorded as failed among the charges; the others renewed.
    assert sorted(p.status for p in card_payments) == ["failed", "failed", "succeeded", "succeeded"]
    assert [statuses[c] for c in cards] == ["active", "past_due", "active"]
    assert [e.type for e in events].count("payment.failed") == 2
    env.assert_books()


def test_a_batch_looks_up_only_the_renewals_of_the_periods_it_works_on(env: Env) -> None:
    """`renewals_for` loads the renewal of each wanted (subscription, period start), not every paid
    renewal the subscriptions ever had."""
    from langganan.invoices.repository import renewals_for

    acc = env.account()["id"]
    env.buy(acc, "growth")
    for day in ("2026-02-09", "2026-03-09"):  # two renewals, issued a week ahead and paid
        env.advance(to=f"{day}T12:00:00+07:00")
        (renewal,) = [i for i in env.ok(env.get(f"/v1/invoices?account_id={acc}&type=renewal"))["data"]
                      if i["status"] == "unpaid"]
        env.pay_va(renewal)
        env.advance(days=7)
    sub_id = env.subscription(acc)["id"]
    with env.db.transaction() as s:
        sub = s.get(Subscription, sub_id)
        assert sub is not None
        wanted = (sub.id, sub.current_period_start)  # the renewal that started the current period
        loaded: list[object] = []
        event.listen(s, "loaded_as_persistent", lambda _s, obj: isinstance(obj, Invoice) and loaded.append(obj))
        found = renewals_for(s, [wanted])
        assert list(found) == [wanted] and found[wanted].status == "paid"
        assert loaded == [found[wanted]]  # the February renewal was not read
        assert renewals_for(s, [(sub.id, sub.current_period_end)]) == {}  # April's is not issued yet


def test_a_batch_that_fails_nowhere_writes_each_table_in_one_statement(env: Env) -> None:
    """The optimistic pass: no savepoint per subscription, and a table's new rows written together
    (COPY on PostgreSQL); the books and the outcome are what the one-by-one pass gives."""
    from tests.integration.test_due_workers import _assert_done_once, _due_set

    subs = _due_set(env, 12)
    _set_clock(env, FEB_16)
    runner = _runner(env, due_batch=50)
    statements: list[str] = []
    event.listen(runner.db.engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: statements.append(" ".join(sql.split()[:3])))
    run_due(runner)
    runner.db.dispose()

    _assert_done_once(env, subs)
    inserts = {table: sum(1 for s in statements if s == f"INSERT INTO {table}")
               for table in ("invoices", "invoice_lines", "payments", "events", "wallet_entries")}
    # one batch of 12 issues their renewals; the card charges' outcomes are recorded in one more
    if env.db.dialect == "postgresql":  # streamed with COPY (kit.bulk): no INSERT, but the ledger's entries
        # go with the batch's outbox: one statement, COPY from COPY_FROM_ROWS rows on (12 here: one INSERT)
        expected = {**dict.fromkeys(inserts, 0), "wallet_entries": 1}
    else:  # multi-row where the key is known; rows with an autoincrement key one by one (no round trips)
        expected = {"invoices": 1, "invoice_lines": 12, "payments": 1, "events": 2, "wallet_entries": 1}
    assert inserts == expected, inserts
    assert sum(1 for s in statements if s.startswith("SAVEPOINT")) <= 2
    env.assert_books()
