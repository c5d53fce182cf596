"""`langganan verify` sees broken payment books (verify.payment_violations): each test corrupts one
row the way a bug would and checks that the violation is reported. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update

from langganan.payments.models import Payment, PaymentReceipt, UnappliedPayment
from langganan.verify import violations
from tests.conftest import Env


def _found(env: Env, *parts: str) -> list[str]:
    with env.db.transaction() as s:
        found = [str(v) for v in violations(s, env.settings)]
    for part in parts:
        assert any(part in v for v in found), (part, found)
    return found


def _short_invoice(env: Env) -> tuple[str, dict[str, Any]]:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    env.pay_va(invoice, 100_000)
    return acc["id"], dict(invoice)


def test_a_paid_invoice_without_its_succeeded_payment(env: Env) -> None:
    invoice = env.buy(env.account()["id"], "growth")
    env.assert_books()
    with env.db.transaction() as s:
        s.execute(update(Payment).where(Payment.id == invoice["payment"]["id"]).values(status="canceled"))
    _found(env, f"invoice {invoice['number']}: paid, total 499000, but 0 succeeded payments",
           "received 499000 != applied 0 + held 0")


def test_a_succeeded_payment_of_another_amount(env: Env) -> None:
    invoice = env.buy(env.account()["id"], "growth")
    with env.db.transaction() as s:
        s.execute(update(Payment).where(Payment.id == invoice["payment"]["id"]).values(amount=500_000))
    _found(env, f"invoice {invoice['number']}: paid, total 499000, but 1 succeeded payments of 500000..500000",
           "received 499000 != applied 500000 + held 0")


def test_two_succeeded_payments_for_one_invoice(env: Env) -> None:
    account_id, invoice = _short_invoice(env)
    card = env.card(account_id)
    env.ok(env.post(f"/v1/invoices/{invoice['id']}/pay", {"payment_method": "card", "payment_method_id": card}))
    env.assert_books()
    with env.db.transaction() as s:  # the virtual account closed when the card paid; now it claims to have paid
        s.execute(update(Payment).where(Payment.id == invoice["payment"]["id"]).values(status="succeeded"))
    _found(env, f"invoice {invoice['number']}: paid, total 499000, but 2 succeeded payments")


def test_a_succeeded_payment_of_an_unpaid_invoice(env: Env) -> None:
    _account_id, invoice = _short_invoice(env)
    with env.db.transaction() as s:
        s.execute(update(Payment).where(Payment.id == invoice["payment"]["id"]).values(status="succeeded"))
    _found(env, f"payment {invoice['payment']['id']}: succeeded but its invoice is unpaid")


def test_held_money_that_disappears(env: Env) -> None:
    account_id, _invoice = _short_invoice(env)
    env.assert_books()
    with env.db.transaction() as s:
        s.execute(delete(UnappliedPayment).where(UnappliedPayment.account_id == account_id))
    _found(env, f"account {account_id}: IDR received 100000 != applied 0 + held 0")


def test_held_money_marked_applied_without_a_payment_that_applied_it(env: Env) -> None:
    account_id, _invoice = _short_invoice(env)
    with env.db.transaction() as s:
        s.execute(update(UnappliedPayment).where(UnappliedPayment.account_id == account_id)
                  .values(status="applied"))
    _found(env, "marked applied, but not by a succeeded payment of its invoice (None)",
           f"account {account_id}: IDR received 100000 != applied 0 + held 0")


def test_a_gateway_notification_without_its_receipt(env: Env) -> None:
    account_id, _invoice = _short_invoice(env)
    with env.db.transaction() as s:
        s.execute(delete(PaymentReceipt).where(PaymentReceipt.account_id == account_id))
    _found(env, "expected a receipt of 100000 IDR but received None None",
           f"account {account_id}: IDR received 0 != applied 0 + held 100000")
