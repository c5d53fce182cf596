"""The invoices a month's Coretax export holds (paid in the month, taxed, in rupiah, not credit notes), the
numbers Coretax gave them, and the month's credit notes against them (returns)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.work import Work
from langganan.tax.models import TaxInvoiceNumber

# Credit notes are returns (retur), which Coretax does not take in a TaxInvoiceBulk (service.py).
RETURN_TYPES = (InvoiceType.CREDIT_NOTE,)


def _taxable_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Invoice.status == InvoiceStatus.PAID, Invoice.paid_at >= start, Invoice.paid_at < end,
                Invoice.tax > 0, Invoice.currency == "IDR", Invoice.type.not_in(RETURN_TYPES))


def is_exported(invoice: Invoice) -> bool:
    """Whether `invoice` is one a Coretax export holds (the rule of `_taxable_in`, on one invoice)."""
    return (invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None and invoice.tax > 0
            and invoice.currency == "IDR" and invoice.type not in RETURN_TYPES)


def count_taxable(session: Work, start: datetime, end: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(Invoice).where(_taxable_in(start, end))) or 0)


def taxable(session: Work, start: datetime, end: datetime, *, offset: int, limit: int) -> Sequence[Invoice]:
    """Paid in [start, end), in the order they were paid (then by id): the same order every time, so the
    parts of a month's export neither overlap nor leave one out."""
    stmt = (select(Invoice).where(_taxable_in(start, end)).order_by(Invoice.paid_at, Invoice.id)
            .offset(offset).limit(limit))
    return session.scalars(stmt).all()


def count_returns(session: Work, start: datetime, end: datetime) -> int:
    """Credit notes (returns) issued in [start, end)."""
    return int(session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.type.in_(RETURN_TYPES), Invoice.issued_at >= start, Invoice.issued_at < end)) or 0)


def returns(session: Work, start: datetime, end: datetime) -> Sequence[Invoice]:
    """Credit notes issued in [start, end), in the order they were issued (then by id)."""
    stmt = (select(Invoice).where(Invoice.type.in_(RETURN_TYPES), Invoice.issued_at >= start, Invoice.issued_at < end)
            .order_by(Invoice.issued_at, Invoice.id))
    return session.scalars(stmt).all()


def credit_notes_of(session: Work, invoice_ids: Sequence[str]) -> Sequence[Invoice]:
    """Every credit note of these invoices, oldest first."""
    if not invoice_ids:
        return []
    return session.scalars(select(Invoice).where(Invoice.type.in_(RETURN_TYPES),
                                                 Invoice.original_invoice_id.in_(invoice_ids))
                           .order_by(Invoice.issued_at, Invoice.id)).all()


def invoices_by_id(session: Work, ids: Sequence[str]) -> dict[str, Invoice]:
    return {inv.id: inv for inv in session.scalars(select(Invoice).where(Invoice.id.in_(ids)))} if ids else {}


def numbers_of(session: Work, invoice_ids: Sequence[str]) -> dict[str, TaxInvoiceNumber]:
    if not invoice_ids:
        return {}
    rows = session.scalars(select(TaxInvoiceNumber).where(TaxInvoiceNumber.invoice_id.in_(invoice_ids)))
    return {row.invoice_id: row for row in rows}


def number_holder(session: Work, number: str) -> TaxInvoiceNumber | None:
    return session.scalar(select(TaxInvoiceNumber).where(TaxInvoiceNumber.number == number))


def invoice_by_number(session: Work, number: str) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.number == number))
