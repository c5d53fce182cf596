from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.errors import NotFound
from langganan.kit.pagination import page
from langganan.kit.work import Work
from langganan.payments.models import Payment, PaymentReceipt, PaymentStatus
from langganan.statements.models import BankStatement, BankStatementLine


def get(session: Work, statement_id: str) -> BankStatement:
    statement = session.get(BankStatement, statement_id)
    if statement is None:
        raise NotFound("bank_statement", statement_id)
    return statement


def lines_of(session: Work, statement_id: str) -> Sequence[BankStatementLine]:
    return session.scalars(select(BankStatementLine).where(BankStatementLine.statement_id == statement_id)
                           .order_by(BankStatementLine.line)).all()


def line(session: Work, statement_id: str, line_no: int) -> BankStatementLine:
    """One line of a statement, locked (an assignment changes it)."""
    row = session.scalar(select(BankStatementLine).where(BankStatementLine.statement_id == statement_id,
                                                         BankStatementLine.line == line_no).with_for_update())
    if row is None:
        get(session, statement_id)
        raise NotFound("bank_statement_line", f"{statement_id}/{line_no}", param="line")
    return row


def list_statements(session: Work, limit: int, starting_after: str | None) -> tuple[Sequence[BankStatement], bool]:
    """Newest first."""
    return page(session, select(BankStatement), BankStatement.id, limit, starting_after)


def known_checksums(session: Work, checksums: Collection[str]) -> dict[str, str]:
    """The lines already imported under these checksums: checksum → line id."""
    if not checksums:
        return {}
    return {c: i for c, i in session.execute(select(BankStatementLine.checksum, BankStatementLine.id)
                                             .where(BankStatementLine.checksum.in_(list(checksums)))) if c}


def payments_by_va(session: Work, va_numbers: Collection[str]) -> Sequence[Payment]:
    if not va_numbers:
        return []
    return session.scalars(select(Payment).where(Payment.va_number.in_(sorted(va_numbers)))).all()


def invoices_by_number(session: Work, numbers: Collection[str]) -> Sequence[Invoice]:
    if not numbers:
        return []
    return session.scalars(select(Invoice).where(Invoice.number.in_(sorted(numbers)))).all()


def open_by_amount(session: Work, amounts: Collection[int], currency: str) -> dict[int, list[str]]:
    """The unpaid invoices (not credit notes) in `currency` whose totals are among `amounts`, by total."""
    out: dict[int, list[str]] = {}
    if not amounts:
        return out
    for inv_id, total in session.execute(select(Invoice.id, Invoice.total).where(
            Invoice.status == InvoiceStatus.UNPAID, Invoice.currency == currency,
            Invoice.type != InvoiceType.CREDIT_NOTE, Invoice.total.in_(sorted(amounts))).order_by(Invoice.id)):
        out.setdefault(int(total), []).append(inv_id)
    return out


def paid_by(session: Work, invoice_id: str) -> Payment | None:
    """The succeeded payment that paid the invoice, locked."""
    return session.scalar(select(Payment).where(Payment.invoice_id == invoice_id,
                                                Payment.status == PaymentStatus.SUCCEEDED)
                          .order_by(Payment.id).limit(1).with_for_update())


def unconfirmed(session: Work, payment_id: str) -> int:
    """Money the books hold as received for a payment that no statement line has confirmed yet: its receipts
    less the amounts of the statement lines already attributed to it (lines flushed before this call)."""
    received = session.scalar(select(func.coalesce(func.sum(PaymentReceipt.amount), 0))
                              .where(PaymentReceipt.payment_id == payment_id)) or 0
    confirmed = session.scalar(select(func.coalesce(func.sum(BankStatementLine.amount), 0))
                               .where(BankStatementLine.payment_id == payment_id,
                                      BankStatementLine.duplicate_of.is_(None))) or 0
    return int(received) - int(confirmed)


def invoice_numbers(session: Work, invoice_ids: Collection[str]) -> dict[str, str]:
    if not invoice_ids:
        return {}
    return dict(session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(sorted(invoice_ids)))).all())
