"""Events: every state change the rules announce has its event, once (DESIGN: Notifications)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy import func, select

from langganan.config import Settings
from langganan.events.models import Event
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.work import Work
from langganan.payments.models import Payment, PaymentStatus
from langganan.subscriptions.history import PeriodKind
from langganan.subscriptions.models import SubscriptionPeriod
from langganan.verify.violation import Violation

SAMPLE = 20
CREDIT_NOTE = "credit_note:"


def _expected_invoice_events(status: str) -> dict[str, tuple[int, ...]]:
    """How many of each invoice event an invoice in `status` has had (allowed counts); a credit note (its status
    prefixed "credit_note:") has its credit_note.issued and no other."""
    if status.startswith(CREDIT_NOTE):
        return {**{t: (0,) for t in _expected_invoice_events(InvoiceStatus.UNPAID)}, "credit_note.issued": (1,)}
    return {"credit_note.issued": (0,), "invoice.created": (1,),
            "invoice.paid": (1,) if status == InvoiceStatus.PAID else (0,),
            "invoice.expired": (1,) if status == InvoiceStatus.EXPIRED else (0, 1) if status in (
                InvoiceStatus.PAID, InvoiceStatus.FAILED) else (0,),
            "invoice.canceled": (1,) if status == InvoiceStatus.CANCELED else (0,),
            "invoice.failed": (1,) if status == InvoiceStatus.FAILED else (0,)}


def _expected_payment_events(status: str) -> dict[str, tuple[int, ...]]:
    return {"payment.succeeded": (1,) if status == PaymentStatus.SUCCEEDED else (0,),
            "payment.failed": (1,) if status == PaymentStatus.FAILED else (0,)}


def _counts(session: Work, key: str, types: Iterable[str]) -> Counter[tuple[str, str]]:
    ref = Event.data[key].as_string()
    return Counter({(str(t), str(r)): int(n) for t, r, n in session.execute(
        select(Event.type, ref, func.count()).where(Event.type.in_(list(types))).group_by(Event.type, ref))})


def _per_row(session: Work, what: str, key: str, rows: Iterable[tuple[str, str, str]],
             expected: Callable[[str], dict[str, tuple[int, ...]]]) -> list[Violation]:
    """For each (id, label, status) row: how many of each event about it there are, against `expected`."""
    seen = _counts(session, key, list(expected("")))
    out: list[Violation] = []
    for row_id, label, status in rows:
        for type_, allowed in expected(status).items():
            n = seen.get((type_, row_id), 0)
            if n not in allowed:
                out.append(Violation("event_count", f"{status} {what} {label} has {n} {type_} events, expected "
                                     f"{' or '.join(map(str, allowed))}", {key: row_id}))
        if len(out) >= SAMPLE:
            break
    return out


def check(session: Work, _settings: Settings) -> list[Violation]:
    out = _per_row(session, "invoice", "invoice_id", (
        (inv_id, number, f"{CREDIT_NOTE}{status}" if type_ == InvoiceType.CREDIT_NOTE else status)
        for inv_id, number, status, type_ in session.execute(
            select(Invoice.id, Invoice.number, Invoice.status, Invoice.type).order_by(Invoice.id))),
        _expected_invoice_events)
    out += _per_row(session, "payment", "payment_id", session.execute(
        select(Payment.id, Payment.method, Payment.status).order_by(Payment.id)),
        _expected_payment_events)
    renewed = _counts(session, "invoice_id", ["subscription.renewed"])
    for row_id, sub_id, renewal_id in session.execute(
            select(SubscriptionPeriod.id, SubscriptionPeriod.subscription_id, SubscriptionPeriod.invoice_id)
            .join(Invoice, Invoice.id == SubscriptionPeriod.invoice_id)
            .where(SubscriptionPeriod.kind == PeriodKind.PAID, Invoice.type == InvoiceType.RENEWAL)
            .order_by(SubscriptionPeriod.id)):
        n = renewed.get(("subscription.renewed", str(renewal_id)), 0)
        if n != 1:
            out.append(Violation("event_count", f"a renewed period has {n} subscription.renewed events, expected 1",
                                 {"subscription_id": sub_id, "period_id": row_id, "invoice_id": str(renewal_id)}))
    return out
