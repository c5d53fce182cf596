"""The invoices a month's Coretax export holds: paid in the month, taxed, in rupiah, not credit notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.work import Work

# Credit notes are returns (retur), which Coretax does not take in a TaxInvoiceBulk (service.py).
RETURN_TYPES = (InvoiceType.CREDIT_NOTE,)


def _taxable_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Invoice.status == InvoiceStatus.PAID, Invoice.paid_at >= start, Invoice.paid_at < end,
                Invoice.tax > 0, Invoice.currency == "IDR", Invoice.type.not_in(RETURN_TYPES))


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
