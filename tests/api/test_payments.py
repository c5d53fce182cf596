"""Invoices and payments: card (rule 11), virtual accounts and callbacks (rule 10), numbering (rule 12)."""

from __future__ import annotations

import json

from sqlalchemy import select

from langganan.kit.clock import wall_now
from langganan.payments.models import Payment, UnappliedPayment
from langganan.payments.sandbox import SandboxGateway
from tests.conftest import Env


def _unapplied(env: Env) -> list[tuple[str, int]]:
    with env.db.transaction() as s:
        return [(u.reason, u.amount) for u in s.scalars(select(UnappliedPayment).order_by(UnappliedPayment.id))]


def test_card_purchase_is_charged_at_once(env: Env) -> None:
    acc = env.account()
    pm = env.card(acc["id"])
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "growth", "payment_method": "card", "payment_method_id": pm}))
    assert res["invoice"]["status"] == "paid"
    assert res["invoice"]["payment"]["method"] == "card"
    assert res["invoice"]["payment"]["status"] == "succeeded"
    assert env.subscription(acc["id"])["plan"] == "growth"


def test_declined_card_records_a_failed_payment_and_changes_nothing_else(env: Env) -> None:
    acc = env.account()
    pm = env.card(acc["id"], "4000000000000002")
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                   {"plan": "growth", "payment_method": "card", "payment_method_id": pm})
    assert res.status_code == 402
    err = res.json()["error"]
    assert err["code"] == "card_declined"
    invoice = env.ok(env.get(f"/v1/invoices/{err['invoice_id']}"))
    assert invoice["status"] == "unpaid" and invoice["payment"]["status"] == "failed"
    assert env.subscription(acc["id"])["plan"] == "free"
    assert "payment.failed" in env.event_types(acc["id"])
    # The same invoice can then be paid with a good card.
    good = env.card(acc["id"])
    paid = env.ok(env.post(f"/v1/invoices/{invoice['id']}/pay", {"payment_method": "card",
                                                                 "payment_method_id": good}))
    assert paid["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "growth"


def test_callback_delivered_twice_is_applied_once(env: Env) -> None:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "pro"}))["invoice"]
    gateway = SandboxGateway(env.settings.sandbox_gateway_secret)
    headers, body = gateway.signed_transfer(invoice["payment"]["va_number"], invoice["total"], "IDR",
                                            wall_now=wall_now())
    first = env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
    second = env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
    assert first.json()["outcome"] == "applied"
    assert second.json()["outcome"] == "duplicate"
    assert env.event_types(acc["id"]).count("invoice.paid") == 1
    assert _unapplied(env) == []


def test_forged_and_stale_callbacks_are_refused(env: Env) -> None:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "pro"}))["invoice"]
    gateway = SandboxGateway("someone-elses-secret")
    headers, body = gateway.signed_transfer(invoice["payment"]["va_number"], invoice["total"], "IDR",
                                            wall_now=wall_now())
    forged = env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
    real = SandboxGateway(env.settings.sandbox_gateway_secret)
    tampered = json.loads(body)
    tampered["amount"] = 1
    signed = real.sign(body, wall_now=wall_now())
    res = env.client.post("/v1/gateways/sandbox/notifications", content=json.dumps(tampered).encode(),
                          headers=signed)
    assert res.status_code == 401
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "unpaid"


def test_overpayment_applies_and_holds_the_excess_underpayment_holds_all(env: Env) -> None:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    assert env.pay_va(invoice, invoice["total"] - 1000)["outcome"] == "held_underpayment"
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "unpaid"

    other = env.account()
    inv2 = env.ok(env.post(f"/v1/accounts/{other['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    assert env.pay_va(inv2, inv2["total"] + 5000)["outcome"] == "applied"
    assert env.ok(env.get(f"/v1/invoices/{inv2['id']}"))["status"] == "paid"
    assert _unapplied(env) == [("underpayment", 498000), ("overpayment", 5000)]


def test_second_transfer_to_a_paid_virtual_account_is_held_not_lost(env: Env) -> None:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    env.pay_va(invoice)
    assert env.pay_va(invoice)["outcome"] == "held_duplicate"
    assert _unapplied(env) == [("duplicate", 499000)]
    assert env.event_types(acc["id"]).count("subscription.upgraded") == 1


def test_late_transfer_after_expiry_still_applies_while_it_can(env: Env) -> None:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    env.advance(days=4)
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "expired"
    assert env.pay_va(invoice)["outcome"] == "applied"  # still on Free: the purchase can be applied
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "growth"


def test_operator_confirms_a_transfer_by_hand(env: Env) -> None:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    paid = env.ok(env.post(f"/v1/invoices/{invoice['id']}/mark-paid", {"reference": "BCA-TRX-889"}))
    assert paid["status"] == "paid" and paid["payment"]["method"] == "manual"
    assert env.subscription(acc["id"])["plan"] == "growth"
    with env.db.transaction() as s:
        pending = s.scalars(select(Payment).where(Payment.invoice_id == invoice["id"],
                                                  Payment.status == "pending")).all()
    assert pending == []  # the open virtual account is closed


def test_invoice_numbers_are_gapless_per_month_in_jakarta(env: Env) -> None:
    acc = env.account()
    numbers = []
    for plan in ("growth", "pro", "starter"):
        numbers.append(env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                                       {"plan": plan}))["invoice"]["number"])
    env.advance(to="2026-01-31T17:30:00+00:00")  # already Feb 1 in Jakarta
    numbers.append(env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                                   {"plan": "growth"}))["invoice"]["number"])
    assert numbers == ["INV/2026/01/00001", "INV/2026/01/00002", "INV/2026/01/00003", "INV/2026/02/00001"]


def test_issued_invoice_copies_buyer_and_seller_and_has_a_pdf(env: Env) -> None:
    acc = env.account()
    invoice = env.buy(acc["id"], "growth")
    assert invoice["buyer"]["name"] == "PT Toko Maju Jaya"
    assert invoice["seller"]["npwp"]
    env.ok(env.put(f"/v1/accounts/{acc['id']}/billing-info",
                   {"company_name": "PT Nama Baru", "contact_name": "Siti", "email": "new@tokomaju.id",
                    "phone": "+62 21 555 0101", "address": "Jl. Baru 1", "city": "Bandung",
                    "postal_code": "40111", "country": "ID"}))
    again = env.ok(env.get(f"/v1/invoices/{invoice['id']}"))
    assert again["buyer"]["name"] == "PT Toko Maju Jaya"  # never edited after issue
    pdf = env.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_invoice_list_filters(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "pro"}))
    paid = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&status=paid"))["data"]
    unpaid = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=plan_change"))["data"]
    assert [i["type"] for i in paid] == ["subscription"]
    assert [i["status"] for i in unpaid] == ["unpaid"]
