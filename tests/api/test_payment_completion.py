"""Money that completes an invoice is applied (issue 11, DESIGN rule 10): transfers to a virtual
account add up until they cover the invoice; only the surplus is held. Every test checks that the
money sent equals the money applied plus the money held, and runs `langganan verify`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from langganan.kit.clock import wall_now
from langganan.payments.models import Payment, UnappliedPayment
from langganan.payments.sandbox import SandboxGateway
from tests.conftest import Env


def _issue(env: Env, plan: str = "growth") -> tuple[str, dict[str, Any]]:
    acc = env.account(locale="en")
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": plan}))["invoice"]
    return acc["id"], dict(invoice)


def _held(env: Env, account_id: str) -> list[tuple[str, int]]:
    """(reason, amount) of the money held for the account and not applied, oldest first."""
    with env.db.transaction() as s:
        return [(u.reason, u.amount) for u in s.scalars(
            select(UnappliedPayment).where(UnappliedPayment.account_id == account_id,
                                           UnappliedPayment.status == "open").order_by(UnappliedPayment.id))]


def _applied(env: Env, account_id: str) -> int:
    with env.db.transaction() as s:
        return sum(p.amount for p in s.scalars(select(Payment).where(Payment.account_id == account_id,
                                                                     Payment.status == "succeeded")))


def _assert_money(env: Env, account_id: str, sent: int, applied: int, held: list[tuple[str, int]]) -> None:
    """Everything sent is applied or held, nothing lost, nothing counted twice; the books verify."""
    assert _applied(env, account_id) == applied
    assert _held(env, account_id) == held
    assert sent == applied + sum(amount for _reason, amount in held)
    env.assert_books()


def _invoice(env: Env, invoice: dict[str, Any]) -> dict[str, Any]:
    return dict(env.ok(env.get(f"/v1/invoices/{invoice['id']}")))


def test_rp1_short_then_the_full_amount_pays_and_holds_only_the_surplus(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    assert env.pay_va(invoice, total - 1)["outcome"] == "held_underpayment"
    short = _invoice(env, invoice)
    assert short["status"] == "unpaid" and short["payment"]["status"] == "pending"  # the VA stays open
    assert env.subscription(account_id)["plan"] == "free"
    _assert_money(env, account_id, total - 1, 0, [("underpayment", total - 1)])

    assert env.pay_va(invoice, total)["outcome"] == "applied"
    paid = _invoice(env, invoice)
    assert paid["status"] == "paid"
    assert paid["payment"]["status"] == "succeeded" and paid["payment"]["amount"] == total
    assert env.subscription(account_id)["plan"] == "growth"
    _assert_money(env, account_id, 2 * total - 1, total, [("overpayment", total - 1)])
    with env.db.transaction() as s:
        under = s.scalars(select(UnappliedPayment).where(UnappliedPayment.reason == "underpayment",
                                                         UnappliedPayment.account_id == account_id)).one()
        assert under.status == "applied" and under.applied_payment_id == paid["payment"]["id"]
        assert under.applied_at is not None
    types = env.event_types(account_id)
    assert types.count("payment.succeeded") == 1 and types.count("invoice.paid") == 1
    assert types.count("payment.unapplied") == 2  # the short transfer, then the surplus
    assert types.count("subscription.upgraded") == 1


def test_short_then_exactly_the_shortfall_pays_and_holds_nothing(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    assert env.pay_va(invoice, total - 1000)["outcome"] == "held_underpayment"
    assert env.pay_va(invoice, 1000)["outcome"] == "applied"
    assert _invoice(env, invoice)["status"] == "paid"
    assert env.subscription(account_id)["plan"] == "growth"
    _assert_money(env, account_id, total, total, [])


def test_three_partial_transfers_that_together_cover_the_invoice(env: Env) -> None:
    account_id, invoice = _issue(env, "pro")
    total = invoice["total"]
    parts = [total // 3, total // 3, total - 2 * (total // 3)]
    outcomes = [env.pay_va(invoice, part)["outcome"] for part in parts]
    assert outcomes == ["held_underpayment", "held_underpayment", "applied"]
    assert _invoice(env, invoice)["status"] == "paid"
    assert env.subscription(account_id)["plan"] == "pro"
    _assert_money(env, account_id, total, total, [])
    types = env.event_types(account_id)
    assert types.count("payment.succeeded") == 1 and types.count("payment.unapplied") == 2


def test_short_then_expired_then_the_rest_still_applies_while_it_can(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    assert env.pay_va(invoice, total - 1)["outcome"] == "held_underpayment"
    env.advance(days=4)
    expired = _invoice(env, invoice)
    assert expired["status"] == "expired" and expired["payment"]["status"] == "expired"
    assert env.pay_va(invoice, 1)["outcome"] == "applied"  # still on Free: the purchase can be applied
    assert _invoice(env, invoice)["status"] == "paid"
    assert env.subscription(account_id)["plan"] == "growth"
    _assert_money(env, account_id, total, total, [])


def test_short_then_expired_and_overtaken_then_the_rest_is_held_not_lost(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    assert env.pay_va(invoice, total - 1)["outcome"] == "held_underpayment"
    env.advance(days=4)
    pro = env.buy(account_id, "pro")  # the account moved on: the Growth purchase can no longer be applied
    assert env.pay_va(invoice, 1)["outcome"] == "held_late"
    assert _invoice(env, invoice)["status"] == "expired"
    assert env.subscription(account_id)["plan"] == "pro"
    _assert_money(env, account_id, total + pro["total"], pro["total"], [("underpayment", total - 1), ("late", 1)])


def test_a_transfer_after_the_invoice_is_paid_is_held_as_a_duplicate(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    assert env.pay_va(invoice, total - 5)["outcome"] == "held_underpayment"
    assert env.pay_va(invoice, 5)["outcome"] == "applied"
    assert env.pay_va(invoice, total)["outcome"] == "held_duplicate"
    assert env.event_types(account_id).count("subscription.upgraded") == 1
    _assert_money(env, account_id, 2 * total, total, [("duplicate", total)])


def test_the_same_gateway_notification_twice_counts_once(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    gateway = SandboxGateway(env.settings.sandbox_gateway_secret)
    headers, body = gateway.signed_transfer(invoice["payment"]["va_number"], total - 1000, "IDR", wall_now=wall_now())
    outcomes = [env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers).json()["outcome"]
                for _ in range(2)]
    assert outcomes == ["held_underpayment", "duplicate"]
    _assert_money(env, account_id, total - 1000, 0, [("underpayment", total - 1000)])
    # Had the repeat counted, Rp1.000 would overpay the invoice instead of completing it.
    assert env.pay_va(invoice, 1000)["outcome"] == "applied"
    _assert_money(env, account_id, total, total, [])


def test_a_card_payment_after_a_short_transfer_holds_the_transfer_as_surplus(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    env.pay_va(invoice, 100_000)
    card = env.card(account_id)
    paid = env.ok(env.post(f"/v1/invoices/{invoice['id']}/pay", {"payment_method": "card",
                                                                   "payment_method_id": card}))
    assert paid["status"] == "paid" and paid["payment"]["method"] == "card" and paid["payment"]["amount"] == total
    _assert_money(env, account_id, total + 100_000, total, [("overpayment", 100_000)])
    # The virtual account closed when the card paid; money sent to it later is held, not applied again.
    assert env.pay_va(invoice, 1000)["outcome"] == "held_duplicate"
    _assert_money(env, account_id, total + 101_000, total, [("overpayment", 100_000), ("duplicate", 1000)])


def test_an_operator_confirmation_after_a_short_transfer(env: Env) -> None:
    account_id, invoice = _issue(env)
    total = invoice["total"]
    env.pay_va(invoice, 200_000)
    paid = env.ok(env.post(f"/v1/invoices/{invoice['id']}/mark-paid", {"reference": "BCA-TRX-1"}))
    assert paid["status"] == "paid" and paid["payment"]["amount"] == total
    _assert_money(env, account_id, total + 200_000, total, [("overpayment", 200_000)])


def test_money_for_an_unknown_virtual_account_is_held_and_counted(env: Env) -> None:
    res = env.ok(env.post("/v1/sandbox/bank-transfers", {"va_number": "3935800000000000", "amount": 25_000}))
    assert res["outcome"] == "held_unknown_virtual_account"
    with env.db.transaction() as s:
        held = s.scalars(select(UnappliedPayment)).one()
        assert (held.account_id, held.reason, held.amount, held.status) == (None, "unknown_virtual_account",
                                                                            25_000, "open")
    env.assert_books()


def test_the_portal_shows_what_is_still_due_after_a_short_transfer(env: Env) -> None:
    from tests.api.test_portal_security import portal_visitor

    account_id, invoice = _issue(env)
    total = invoice["total"]
    v = portal_visitor(env, account_id)
    env.pay_va(invoice, total - 1)
    short = v.client.get(f"/portal/pay/{invoice['id']}/status")
    assert short.status_code == 200 and "Payment received" not in short.text
    assert invoice["payment"]["va_number"] in short.text and 'hx-trigger="every 1s"' in short.text  # still waiting
    assert 'data-testid="received-so-far">Rp498,999<' in short.text
    assert 'data-testid="still-due">Rp1<' in short.text
    env.pay_va(invoice, 1)
    done = v.client.get(f"/portal/pay/{invoice['id']}/status")
    assert "Payment received" in done.text and "still-due" not in done.text


def test_a_card_charge_that_lands_after_a_transfer_paid_the_invoice_is_held_once(env: Env) -> None:
    from langganan.invoices import repository as invoices_repo
    from langganan.payments import service as payments
    from langganan.payments.gateway import ChargeResult

    account_id, invoice = _issue(env)
    total = invoice["total"]
    card = env.card(account_id)
    ctx = env.client.app.state.ctx
    with ctx.unit() as (s, now):  # a card payment committed, its charge in flight (rule 11) ...
        payment_id = payments.start(s, env.settings, ctx.gateway, invoices_repo.get(s, invoice["id"]),
                                    method="card", payment_method_id=card, bank=None, now=now).id
    assert env.pay_va(invoice)["outcome"] == "applied"  # ... while the transfer pays the invoice
    for _ in range(2):  # the gateway took the money; recording its answer twice takes it once
        with ctx.unit() as (s, now):
            payments.record_charge(s, env.settings, payment_id, total, ChargeResult(True, "ch_sbx_late"), now)
    with env.db.transaction() as s:
        assert s.get(Payment, payment_id).status == "unapplied"  # type: ignore[union-attr]
    assert env.event_types(account_id).count("payment.succeeded") == 1
    _assert_money(env, account_id, 2 * total, total, [("duplicate", total)])
