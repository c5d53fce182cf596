"""The first seed's walk through Settings > Subscription, over HTTP: pick a plan, fill billing
information, pay, upgrade, downgrade, renew, unsubscribe, and read the invoices."""

from __future__ import annotations

from tests.conftest import BILLING, Env


def test_seed_walkthrough(env: Env) -> None:
    acc = env.ok(env.post("/v1/accounts", {"name": "Kopi Kenangan Senja", "email": "owner@kopisenja.id",
                                           "external_id": "ws-42"}), 201)
    aid = acc["id"]
    assert env.ok(env.get("/v1/accounts?external_id=ws-42"))["data"][0]["id"] == aid

    # "Before making a purchase or upgrading, ensure that the information in Billing Information is complete."
    blocked = env.post(f"/v1/accounts/{aid}/subscription/change", {"plan": "growth"})
    assert blocked.json()["error"]["code"] == "billing_info_required"
    env.ok(env.put(f"/v1/accounts/{aid}/billing-info", BILLING))

    # Upgrade Subscription from Free to Growth, paid by card: "the plan will be updated automatically".
    pm = env.card(aid)
    res = env.ok(env.post(f"/v1/accounts/{aid}/subscription/change",
                          {"plan": "growth", "payment_method": "card", "payment_method_id": pm}))
    assert res["invoice"]["status"] == "paid"
    assert env.subscription(aid)["plan"] == "growth"

    # Ten days later, upgrade to Pro by bank transfer (virtual account), prorated.
    env.advance(days=10)
    res = env.ok(env.post(f"/v1/accounts/{aid}/subscription/change",
                          {"plan": "pro", "payment_method": "bank_transfer", "bank": "bni"}))
    invoice = res["invoice"]
    assert invoice["payment"]["bank"] == "bni" and invoice["payment"]["va_number"].startswith("8808")
    assert invoice["total"] == invoice["lines"][0]["amount"] + invoice["lines"][1]["amount"] > 0
    env.pay_va(invoice)
    assert env.subscription(aid)["plan"] == "pro"

    # Downgrade back to Growth: scheduled at period end, no invoice.
    res = env.ok(env.post(f"/v1/accounts/{aid}/subscription/change", {"plan": "growth"}))
    assert res["kind"] == "downgrade" and res["invoice"] is None

    # Renew Subscription: the renewal extends from the period end and clears the scheduled downgrade.
    renewal = env.ok(env.post(f"/v1/accounts/{aid}/subscription/renew",
                              {"payment_method": "card", "payment_method_id": pm}), 201)
    assert renewal["status"] == "paid" and renewal["period_start"] == env.subscription(aid)["current_period_end"]
    env.advance(days=25)
    sub = env.subscription(aid)
    assert sub["plan"] == "pro" and sub["current_period_start"] == renewal["period_start"]

    # Unsubscribe: back to Free at period end.
    env.ok(env.post(f"/v1/accounts/{aid}/subscription/cancel", {"at_period_end": True}))
    env.advance(days=31)
    assert env.subscription(aid)["plan"] == "free"

    # The Invoice table: every purchase is an invoice with code, type, date, package, amount and status.
    rows = env.ok(env.get(f"/v1/invoices?account_id={aid}"))["data"]
    assert [(r["type"], r["package"], r["status"]) for r in reversed(rows)] == [
        ("subscription", "Growth (monthly)", "paid"),
        ("plan_change", "Pro (monthly)", "paid"),
        ("renewal", "Pro (monthly)", "paid"),
    ]
    assert all(r["number"].startswith("INV/2026/") for r in rows)
    types = env.event_types(aid)
    for expected in ("account.created", "invoice.created", "invoice.paid", "subscription.upgraded",
                     "subscription.downgrade_scheduled", "subscription.renewed", "subscription.canceled"):
        assert expected in types
