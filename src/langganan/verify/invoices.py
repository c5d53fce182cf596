"""Invoices: totals and tax base, gapless numbers, sealed content, status times, one renewal per period
(rules 4, 12)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from langganan.config import Settings
from langganan.invoices.models import Invoice, InvoiceSequence, InvoiceStatus, InvoiceType
from langganan.invoices.rules import content_digest, month_key
from langganan.invoices.service import content_of
from langganan.kit.work import Work
from langganan.verify.violation import Violation

# which time a status sets: paid_at for money in, closed_at for a window or a decision that ended it
PAID_AT = (InvoiceStatus.PAID, InvoiceStatus.WAIVED)
CLOSED_AT = (InvoiceStatus.EXPIRED, InvoiceStatus.CANCELED, InvoiceStatus.FAILED)


def check(session: Work, settings: Settings) -> list[Violation]:
    out: list[Violation] = []
    months: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for inv in session.scalars(select(Invoice).options(selectinload(Invoice.lines)).order_by(Invoice.id)):
        ids = {"invoice_id": inv.id, "number": inv.number}
        sub = sum(ln.amount for ln in inv.lines if ln.kind != "discount")
        disc = -sum(ln.amount for ln in inv.lines if ln.kind == "discount")
        if (sub, disc) != (inv.subtotal, inv.discount):
            out.append(Violation("invoice_lines_mismatch", f"subtotal/discount {inv.subtotal}/{inv.discount} but "
                                 f"the lines give {sub}/{disc}", ids))
        out += _figures(inv, ids)
        if inv.content_hash is not None and content_digest(content_of(inv)) != inv.content_hash:
            out.append(Violation("invoice_changed", "what the invoice says is not what was issued (its seal "
                                 "does not match)", ids))
        late = inv.status == InvoiceStatus.PAID and inv.closed_at is not None and inv.paid_at is not None \
            and inv.closed_at <= inv.paid_at  # it expired, then the money came and could still be applied
        if (inv.paid_at is not None) != (inv.status in PAID_AT) or \
                ((inv.closed_at is not None) != (inv.status in CLOSED_AT) and not late):
            out.append(Violation("invoice_status_times", f"status {inv.status} with paid_at {inv.paid_at} and "
                                 f"closed_at {inv.closed_at}", ids))
        key, value = _parse(inv.number)
        if key is None:
            out.append(Violation("invoice_unnumbered", f"{inv.number!r} is not an invoice number", ids))
            continue
        months[key].append((value, inv.id))
        issued_month = month_key(inv.issued_at, settings.seller_timezone)
        if key != issued_month:
            out.append(Violation("invoice_number_month", f"numbered in {key} but issued in {issued_month} "
                                 f"({settings.seller_timezone})", ids))
    out += _gapless(session, months)
    out += _one_renewal_per_period(session)
    return out


def _figures(inv: Invoice, ids: dict[str, str]) -> list[Violation]:
    """total = price after discounts + tax, DPP within the price; a credit note's figures are all negative (it
    gives back: price, DPP, PPN and total at most 0, none of them floored at 0)."""
    out: list[Violation] = []
    credit = inv.type == InvoiceType.CREDIT_NOTE
    price = inv.subtotal - inv.discount if credit else max(0, inv.subtotal - inv.discount)
    if inv.total != price + inv.tax or (credit and not (inv.total < 0 and inv.tax <= 0)):
        out.append(Violation("invoice_total_mismatch", f"total {inv.total} is not subtotal {inv.subtotal} - "
                             f"discount {inv.discount} + tax {inv.tax}", ids))
    low, high = (price, 0) if credit else (0, price)
    if inv.tax_base is not None and not low <= inv.tax_base <= high:
        out.append(Violation("invoice_tax_base", f"tax base (DPP) {inv.tax_base} is not between {low} and {high} "
                             f"(the price after discounts)", ids))
    return out


def _parse(number: str) -> tuple[str | None, int]:
    parts = number.split("/")
    if len(parts) != 4 or parts[0] != "INV" or not all(p.isascii() and p.isdigit() for p in parts[1:]):
        return None, 0
    return f"{parts[1]}/{parts[2]}", int(parts[3])


def _gapless(session: Work, months: dict[str, list[tuple[int, str]]]) -> list[Violation]:
    """Each month's numbers are 1..N with N its counter: no gap, no repeat (rule 12)."""
    out: list[Violation] = []
    counters: dict[str, int] = {
        month: last for month, last in session.execute(select(InvoiceSequence.month, InvoiceSequence.last_value))}
    for key in sorted(set(months) | set(counters)):
        values = sorted(v for v, _ in months.get(key, []))
        last = counters.get(key, 0)
        if values != list(range(1, last + 1)):
            missing = sorted(set(range(1, last + 1)) - set(values))[:10]
            repeated = sorted({v for v in values if values.count(v) > 1})[:10]
            beyond = [v for v in values if v > last][:10]
            out.append(Violation("invoice_number_gap", f"{key}: counter at {last}, {len(values)} invoices; missing "
                                 f"{missing}, repeated {repeated}, beyond the counter {beyond}", {"month": key}))
    return out


def _one_renewal_per_period(session: Work) -> list[Violation]:
    """At most one renewal per (subscription, period start) that is not canceled (rule 4)."""
    rows = session.execute(
        select(Invoice.subscription_id, Invoice.period_start, func.count())
        .where(Invoice.type == InvoiceType.RENEWAL, Invoice.status != InvoiceStatus.CANCELED)
        .group_by(Invoice.subscription_id, Invoice.period_start).having(func.count() > 1)
        .order_by(Invoice.subscription_id)).all()
    return [Violation("renewal_issued_twice", f"{n} renewal invoices for the period starting {start}",
                      {"subscription_id": str(sub_id)}) for sub_id, start, n in rows]
