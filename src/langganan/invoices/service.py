"""Issuing invoices and moving their payment status. Content is frozen at issue (rule 12)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from langganan import metrics
from langganan.accounts.models import Account
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import numbering, repository
from langganan.invoices.actions import InvoiceAction
from langganan.invoices.credits import NOTHING, Figures
from langganan.invoices.models import Invoice, InvoiceLine, InvoiceStatus, InvoiceType
from langganan.invoices.rules import (
    Line,
    Totals,
    content_digest,
    legacy_tax_base,
    tax_base_fraction,
    tax_rate_bps,
    totals,
)
from langganan.invoices.tax import BaseFraction
from langganan.kit.db import flush
from langganan.kit.errors import Conflict
from langganan.kit.ids import new_id
from langganan.kit.work import Question, Work

# Invoices issued in this transaction that no payment was started for yet (payments.start skips
# looking for an open virtual account of these).
WITHOUT_PAYMENTS: Question[str, bool] = Question("invoice issued here, no payment yet")
TYPES = tuple(InvoiceType)
STATUSES = tuple(InvoiceStatus)


def figures_for(settings: Settings, type_: str, lines: Sequence[Line]) -> Totals:
    """What an invoice of `type_` with these lines adds up to: PPN at the configured rate on the configured tax
    base, added on top. `issue` uses it, and so does everything that says beforehand what an invoice will total."""
    fractions = {kind: BaseFraction(*parts) for kind, parts in settings.tax_base_fractions.items()}
    return totals(lines, tax_rate_bps(settings.tax_bps, type_), tax_base_fraction(fractions, type_))


def issue(session: Work, settings: Settings, *, account: Account, type_: InvoiceType, lines: Sequence[Line],
          action: InvoiceAction, now: datetime, expires_at: datetime | None,
          subscription_id: str | None = None, package: str | None = None,
          period_start: datetime | None = None, period_end: datetime | None = None,
          status: InvoiceStatus = InvoiceStatus.UNPAID) -> Invoice:
    if type_ not in TYPES:
        raise ValueError(f"unknown invoice type {type_}")
    rate = tax_rate_bps(settings.tax_bps, type_)
    sums = figures_for(settings, type_, lines)
    invoice = Invoice(
        id=new_id("inv"), number="",
        account_id=account.id, subscription_id=subscription_id, type=type_, status=status,
        currency=account.currency, subtotal=sums.subtotal, discount=sums.discount, tax=sums.tax, tax_rate_bps=rate,
        tax_base=sums.tax_base,
        total=sums.total, package=package, seller=dict(settings.seller), buyer=account.buyer_snapshot(),
        action=action, period_start=period_start, period_end=period_end, issued_at=now,
        expires_at=expires_at if status == InvoiceStatus.UNPAID else None,
        paid_at=now if status in (InvoiceStatus.PAID, InvoiceStatus.WAIVED) else None,
    )
    # The lines are the invoice's from the start: set as its loaded collection (no change events to
    # track for a new object), added by the save cascade, their key to it set here.
    set_committed_value(invoice, "lines", [
        InvoiceLine(invoice_id=invoice.id, account_id=invoice.account_id, position=i, kind=line.kind,
                    description=line.description, quantity=line.quantity, unit_amount=line.unit_amount,
                    amount=line.amount, period_start=line.period_start, period_end=line.period_end)
        for i, line in enumerate(lines)])
    _seal_number_and_add(session, settings, invoice, now)
    if type_ == InvoiceType.RENEWAL:
        repository.note_renewal(session, invoice)
    session.read_ahead(WITHOUT_PAYMENTS)[invoice.id] = True
    events.emit(session, "invoice.created", account.id, summary(invoice), now)
    session.on_commit(lambda: metrics.invoice_issued(type_))
    if status == InvoiceStatus.PAID:
        events.emit(session, "invoice.paid", account.id, summary(invoice), now)
        total = invoice.total
        session.on_commit(lambda: metrics.invoice_paid(type_, total))
    return invoice


def _seal_number_and_add(session: Work, settings: Settings, invoice: Invoice, now: datetime) -> None:
    invoice.content_hash = content_digest(content_of(invoice))
    if numbering.deferring(session):  # a due-runner batch numbers its invoices just before it commits
        invoice.number = numbering.placeholder_for(session, invoice, now, settings.seller_timezone)
    else:
        invoice.number = numbering.next_number(session, now, settings.seller_timezone)
    session.add(invoice)
    flush(session)
    session.hold(invoice)


def credited_so_far(session: Work, original: Invoice) -> Figures:
    """What the credit notes issued for `original` gave back, as positive figures."""
    return sum((given_back(n) for n in repository.credit_notes_of(session, original.id)), NOTHING)


def given_back(credit_note: Invoice) -> Figures:
    """What one credit note gave back, as positive figures (it stores them negated)."""
    n = credit_note
    return Figures(-n.subtotal + n.discount, -n.tax_base_amount, -n.tax, -n.total)


def figures_of(invoice: Invoice) -> Figures:
    return Figures(invoice.taxable, invoice.tax_base_amount, invoice.tax, invoice.total)


def issue_credit_note(session: Work, settings: Settings, *, original: Invoice, credit: Figures, reason: str,
                      now: datetime, credit_note_id: str, refund: dict[str, Any]) -> Invoice:
    """Issue the credit note `credit_note_id` giving back `credit` (credits.split) of `original`, which the
    caller holds locked: an invoice of type credit_note that refers to it (`original_invoice_id`), its own
    number in the month's sequence, the seller and buyer as the original named them, negative lines and
    figures at the original's tax rate. A full credit note repeats the original's lines negated; a partial
    one has one line, "Credit on INV/...".

    Its status is `paid`, meaning settled: the money went back (or became wallet credit) before or as it was
    issued, so it is never payable; its total is negative, so no payment covers it. It emits
    `credit_note.issued` (with `refund`: how the money went back), not invoice.created/invoice.paid, which
    tell a customer to pay or that money came in. It does nothing to the subscription: cancel separately."""
    if original.type == InvoiceType.CREDIT_NOTE:
        raise Conflict("credit_note_of_credit_note", "A credit note cannot be credited.")
    full = credit == figures_of(original) and not repository.credit_notes_of(session, original.id)
    if full:
        lines = [Line(ln.kind, ln.description, ln.quantity, -ln.unit_amount, -ln.amount, ln.period_start,
                      ln.period_end) for ln in original.lines]
        subtotal, discount = -original.subtotal, -original.discount
    else:
        lines = [Line("credit", f"Credit on {original.number}: {reason}"[:300], 1, -credit.price, -credit.price)]
        subtotal, discount = -credit.price, 0
    invoice = Invoice(
        id=credit_note_id, number="", account_id=original.account_id, subscription_id=None,
        type=InvoiceType.CREDIT_NOTE, status=InvoiceStatus.PAID, currency=original.currency, subtotal=subtotal,
        discount=discount, tax=-credit.tax, tax_rate_bps=original.tax_rate_bps, tax_base=-credit.base,
        total=-credit.total, package=original.package, seller=dict(original.seller), buyer=dict(original.buyer),
        action=original.action, period_start=None, period_end=None, original_invoice_id=original.id,
        issued_at=now, expires_at=None, paid_at=now)
    set_committed_value(invoice, "lines", [
        InvoiceLine(invoice_id=invoice.id, account_id=invoice.account_id, position=i, kind=line.kind,
                    description=line.description, quantity=line.quantity, unit_amount=line.unit_amount,
                    amount=line.amount, period_start=line.period_start, period_end=line.period_end)
        for i, line in enumerate(lines)])
    _seal_number_and_add(session, settings, invoice, now)
    events.emit(session, "credit_note.issued", invoice.account_id,
                {**summary(invoice), "original_invoice_id": original.id, "original_number": original.number,
                 "reason": reason, **refund}, now)
    session.on_commit(lambda: metrics.invoice_issued(InvoiceType.CREDIT_NOTE))
    return invoice


def content_of(invoice: Invoice) -> dict[str, Any]:
    """What an invoice says, as issued: everything but its number (given when its batch commits) and
    its payment state. The tax base (DPP) is part of it when it is not the whole price after discounts
    (what every invoice sealed before it was stored was taxed on), so those seals still hold and a tax base
    changed later breaks the seal of old and new invoices alike."""
    content = {
        "id": invoice.id, "account_id": invoice.account_id, "subscription_id": invoice.subscription_id,
        "type": invoice.type, "currency": invoice.currency, "subtotal": invoice.subtotal,
        "discount": invoice.discount, "tax": invoice.tax, "tax_rate_bps": invoice.tax_rate_bps,
        "total": invoice.total, "package": invoice.package, "seller": invoice.seller, "buyer": invoice.buyer,
        "action": invoice.action.to_json(), "period_start": invoice.period_start, "period_end": invoice.period_end,
        "original_invoice_id": invoice.original_invoice_id, "issued_at": invoice.issued_at,
        "expires_at": invoice.expires_at,
        "lines": [{"position": ln.position, "kind": ln.kind, "description": ln.description,
                   "quantity": ln.quantity, "unit_amount": ln.unit_amount, "amount": ln.amount,
                   "period_start": ln.period_start, "period_end": ln.period_end}
                  for ln in sorted(invoice.lines, key=lambda ln: ln.position)],
    }
    if invoice.tax_base is not None and invoice.tax_base != legacy_tax_base(invoice.subtotal, invoice.discount):
        content["tax_base"] = invoice.tax_base
    return content


def summary(invoice: Invoice) -> dict[str, Any]:
    return {"invoice_id": invoice.id, "number": invoice.number, "type": invoice.type,
            "status": invoice.status, "total": invoice.total, "currency": invoice.currency}


def _move(session: Work, invoice: Invoice, allowed_from: tuple[InvoiceStatus, ...], to: InvoiceStatus, now: datetime,
          event: str) -> Invoice:
    if invoice.status not in allowed_from:
        raise Conflict("invoice_not_payable" if to == InvoiceStatus.PAID else "invoice_not_open",
                       f"Invoice {invoice.number} is {invoice.status}; it cannot become {to}.")
    invoice.status = to
    if to == InvoiceStatus.PAID:
        invoice.paid_at = now
    else:
        invoice.closed_at = now
    flush(session)
    events.emit(session, event, invoice.account_id, summary(invoice), now)
    return invoice


def mark_paid(session: Work, invoice: Invoice, now: datetime, *, allow_expired: bool = False) -> Invoice:
    allowed = (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED) if allow_expired else (InvoiceStatus.UNPAID,)
    _move(session, invoice, allowed, InvoiceStatus.PAID, now, "invoice.paid")
    type_, total = invoice.type, invoice.total
    session.on_commit(lambda: metrics.invoice_paid(type_, total))
    return invoice


def expire(session: Work, invoice: Invoice, now: datetime) -> Invoice:
    return _move(session, invoice, (InvoiceStatus.UNPAID,), InvoiceStatus.EXPIRED, now, "invoice.expired")


def fail(session: Work, invoice: Invoice, now: datetime) -> Invoice:
    """Card attempts exhausted (rule 12)."""
    return _move(session, invoice, (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED), InvoiceStatus.FAILED, now,
                 "invoice.failed")


def cancel(session: Work, invoice: Invoice, now: datetime) -> Invoice:
    return _move(session, invoice, (InvoiceStatus.UNPAID,), InvoiceStatus.CANCELED, now, "invoice.canceled")
