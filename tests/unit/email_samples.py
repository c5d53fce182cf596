"""Sample values for every event type that has its own message, in every variant its texts branch on (invoice
or none, its status, a virtual account with or without a biller code, each downgrade reason, ...): what
notifications.messages.render is given by context_for, without a database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from langganan.accounts.models import Account
from langganan.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from langganan.payments.models import Payment
from langganan.subscriptions.models import Subscription

AT = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
LATER = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
GRACE = datetime(2026, 4, 8, 0, 0, tzinfo=UTC)


def invoice(status: InvoiceStatus = InvoiceStatus.UNPAID, *, package: str | None = "Pro (monthly)") -> Invoice:
    lines = [InvoiceLine(position=1, kind="plan", description="Pro plan, 1 Mar – 1 Apr 2026", quantity=1,
                         unit_amount=1_500_000, amount=1_500_000),
             InvoiceLine(position=2, kind="tax", description="PPN 11%", quantity=1, unit_amount=165_000,
                         amount=165_000)]
    return Invoice(id="inv_1", number="INV/2026/03/0007", status=status, currency="IDR", total=1_665_000,
                   package=package, lines=lines, expires_at=GRACE, paid_at=AT if status == "paid" else None,
                   period_start=LATER)


def payment(*, biller: bool = False) -> Payment:
    return Payment(id="pay_1", bank="mandiri" if biller else "bca", va_number="8808123456789012",
                   biller_code="70012" if biller else None, va_expires_at=GRACE)


def account() -> Account:
    return Account(id="acc_1", name="Toko <Maju> & Co", email="owner@example.com", currency="IDR",
                   timezone="Asia/Jakarta", company_name="PT Maju", contact_name="Sari")


def base(locale: str) -> dict[str, Any]:
    return {"account": account(), "data": {}, "invoice": None, "payment": None, "subscription": None,
            "to": "billing@example.com", "cc": "owner@example.com", "to_owner": False, "company": "PT Maju",
            "contact": "Sari", "plan": "Pro", "currency": "IDR", "timezone": "Asia/Jakarta",
            "period_end": LATER, "trial_end": LATER,
            "decline": "", "locale": locale}


def _variants() -> Iterator[tuple[str, dict[str, Any]]]:
    paid = InvoiceStatus.PAID
    yield "invoice.created", {"invoice": invoice(), "payment": payment()}
    yield "invoice.created", {"invoice": invoice(package=None), "payment": payment(biller=True),
                              "to_owner": True, "cc": None}
    yield "invoice.created", {"invoice": invoice(), "cc": None}
    for status in InvoiceStatus:
        yield "invoice.created", {"invoice": invoice(status)}
    yield "invoice.paid", {"invoice": invoice(paid)}
    for refund_to in ("wallet", "gateway", "bank_transfer"):
        yield "credit_note.issued", {"invoice": invoice(paid), "data": {
            "original_number": "INV/2026/02/0001", "amount": 250_000, "refund_to": refund_to,
            "reason": "Charged twice", "wallet": "broadcast"}}
    yield "invoice.expired", {"invoice": invoice(InvoiceStatus.EXPIRED)}
    yield "invoice.expired", {"invoice": invoice(InvoiceStatus.EXPIRED, package=None)}
    yield "payment.failed", {"invoice": invoice(), "data": {"amount": 1_665_000, "currency": "IDR"},
                             "decline": "The card was declined"}
    yield "payment.failed", {"data": {"amount": 50_000, "currency": "IDR"}}
    yield "subscription.renewal_reminder", {"invoice": invoice(), "payment": payment()}
    yield "subscription.renewal_reminder", {}
    for method in ("card", "bank_transfer"):
        yield "subscription.past_due", {"invoice": invoice(), "payment": payment(),
                                        "data": {"method": method, "grace_ends_at": GRACE.isoformat()}}
    yield "subscription.past_due", {"data": {"method": "bank_transfer", "grace_ends_at": GRACE.isoformat()}}
    for reason in ("unpaid", "plan_retired", "trial_ended", "scheduled", "requested"):
        yield "subscription.downgraded", {"data": {"reason": reason}, "previous_plan": "Pro", "new_plan": "Free",
                                          "lapsed": invoice(InvoiceStatus.EXPIRED), "moved_at": AT}
    yield "subscription.downgraded", {"data": {"reason": "unpaid"}, "previous_plan": "Pro", "new_plan": "Free",
                                      "lapsed": None, "moved_at": AT}
    yield "trial.will_end", {}
    yield "trial.ended", {"data": {"converted": True}}
    yield "trial.ended", {"data": {"converted": False}, "plan": "Free"}
    for kind in ("promotion.ending", "promotion.ended"):
        yield kind, {"data": {"code": "HEMAT20", "ends_at": LATER.isoformat()}}
    yield "account.migrated", {}
    for wallet in ("conversation", "broadcast"):
        data = {"wallet": wallet, "balance": 4_500, "threshold": 5_000, "amount": 100_000}
        for kind in ("wallet.low_balance", "wallet.depleted", "wallet.topped_up", "wallet.auto_top_up_paused"):
            yield kind, {"data": data}
    for quota, used, limit, threshold in (("users", 8, 10, 80), ("contacts", 1000, 1000, 100),
                                          ("broadcasts", 12_000, 10_000, 120)):
        yield "quota.threshold_reached", {"data": {
            "quota": quota, "used": used, "limit": limit, "threshold": threshold}}
    yield "payment.succeeded", {"invoice": invoice(paid), "data": {"amount": 1_665_000, "currency": "IDR"}}
    yield "payment.succeeded", {"data": {"amount": 20_000, "currency": "IDR"}}
    yield "subscription.upgraded", {}
    yield "subscription.renewed", {}
    yield "subscription.canceled", {"plan": "Free"}
    card = {"brand": "visa", "last4": "4242", "expires_at": LATER.isoformat(), "payment_method_id": "pm_1"}
    yield "payment_method.expiring", {"data": card, "subscription": Subscription(
        auto_renew=True, payment_method_id="pm_1")}
    yield "payment_method.expiring", {"data": card}
    yield "payment.reversed", {"invoice": invoice(paid), "data": {"reversed": 1_665_000, "currency": "IDR"}}
    yield "payment.reversed", {"data": {"reversed": 7_000, "currency": "IDR"}}


def samples(locale: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event type, values) in `locale`; every type with its own message comes at least once."""
    for event_type, extra in _variants():
        yield event_type, {**base(locale), **extra}
