"""Statuses, types and methods are StrEnums in Python and the same plain text in the database as before
they were: a row written as text reads back as a member, a member is stored as its value, and a filter
on a string that names no member matches nothing instead of failing. Invoice actions keep their JSON."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from langganan.catalog.rules import WalletKind
from langganan.invoices.actions import TopUpAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.payments.models import Payment, PaymentMethodType, PaymentStatus
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.wallets.models import Wallet
from tests.conftest import Env


def test_members_are_stored_as_their_text_and_read_back_as_members(env: Env) -> None:
    account = env.account()
    invoice = env.top_up(account["id"], "broadcast", 100_000)
    with env.db.transaction() as s:
        raw = s.execute(text("SELECT type, status, action FROM invoices WHERE id = :i"), {"i": invoice["id"]}).one()
        method, status = s.execute(text("SELECT method, status FROM payments WHERE invoice_id = :i"),
                                   {"i": invoice["id"]}).one()
        sub_status = s.scalar(text("SELECT status FROM subscriptions WHERE account_id = :a"), {"a": account["id"]})
    assert (raw.type, raw.status, method, status, sub_status) == ("top_up", "paid", "bank_transfer", "succeeded",
                                                                   "active")
    stored = raw.action if isinstance(raw.action, dict) else json.loads(raw.action)
    assert stored == {"kind": "top_up", "wallet": "broadcast", "amount": 100_000}
    with env.db.transaction() as s:
        inv = s.get(Invoice, invoice["id"])
        assert inv is not None
        assert (inv.type, inv.status) == (InvoiceType.TOP_UP, InvoiceStatus.PAID)
        assert type(inv.status) is InvoiceStatus
        assert inv.action == TopUpAction(wallet=WalletKind.BROADCAST, amount=100_000)
        pay = s.scalars(select(Payment).where(Payment.invoice_id == invoice["id"])).one()
        assert (pay.method, pay.status) == (PaymentMethodType.BANK_TRANSFER, PaymentStatus.SUCCEEDED)
        sub = s.scalars(select(Subscription).where(Subscription.account_id == account["id"])).one()
        assert type(sub.status) is SubscriptionStatus


def test_a_filter_on_a_string_that_names_no_member_matches_nothing(env: Env) -> None:
    account = env.account()
    with env.db.transaction() as s:
        assert s.scalars(select(Wallet).where(Wallet.account_id == account["id"], Wallet.kind == "savings")).all() == []
        assert len(s.scalars(select(Wallet).where(Wallet.account_id == account["id"],
                                                  Wallet.kind == "conversation")).all()) == 1
    assert env.get(f"/v1/accounts/{account['id']}/wallets/savings/transactions").status_code == 404


def test_the_openapi_document_lists_the_allowed_values(env: Env) -> None:
    schemas = env.ok(env.get("/openapi.json"))["components"]["schemas"]
    assert schemas["InvoiceStatus"]["enum"] == ["unpaid", "paid", "expired", "canceled", "failed", "waived"]
    assert schemas["SubscriptionStatus"]["enum"] == ["trialing", "active", "past_due"]
    assert schemas["InvoiceOut"]["properties"]["status"] == {"$ref": "#/components/schemas/InvoiceStatus"}
