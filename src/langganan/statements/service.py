"""Bank statement reconciliation: import a parsed statement in one unit of work, and assign by hand.

Every credit line is stored once by its checksum (a unique column): a line already imported, from this
file run again or from an overlapping one, is stored as `duplicate` and moves no money. A new line is
matched (matching.py) and its money goes through the payments service, the path a gateway callback takes:

- it named a virtual account: `receive` on that VA's payment (applied, or held: short, late, or a second
  transfer for an invoice already paid, `already_paid`);
- it named an invoice (by number, or by being the only open invoice of its amount): a manual payment of the
  invoice receives the line's amount (`receive_transfer`), or, for an invoice already paid, the payment that
  paid it receives it and holds it as a duplicate; an invoice that can no longer be paid (canceled) holds it
  for its account as late;
- it matched nothing, or several invoices: the money is received at import, under no account, and held
  (`statement_no_match`): operators see it among the held money at once, and `verify` balances (received =
  applied + held). Assigning the line to an invoice later makes that money the invoice's account's and
  applies it (`payments.service.assign_held`).

Doubt (rule 10 vs. counting twice): a line for an invoice that a gateway callback or an operator's
confirmation already paid is usually the same transfer seen again, not a second one. It is held as a
duplicate (never lost); an operator who sees it was the same money refunds nothing and writes it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.invoices import repository as invoices_repo
from langganan.invoices.models import InvoiceStatus
from langganan.kit.db import added_unless_taken, flush
from langganan.kit.errors import Conflict, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.payments import service as payments
from langganan.payments.models import Payment, UnappliedReason
from langganan.statements import repository
from langganan.statements.formats import (
    ColumnMapping,
    DateOrder,
    Format,
    Statement,
    StatementInvalid,
    StatementLine,
    decode,
    parse,
)
from langganan.statements.matching import (
    Candidates,
    Decision,
    Target,
    Verdict,
    Via,
    decide,
    invoice_numbers_in,
    va_numbers_in,
)
from langganan.statements.models import BankStatement, BankStatementLine, LineStatus

CURRENCY = "IDR"  # the formats read are Indonesian rupiah accounts
DESCRIPTION_LENGTH = 500
RAW_LENGTH = 2000


FORMATS = tuple(f.value for f in Format)
DATE_ORDERS = tuple(d.value for d in DateOrder)


def mapping_of(*, date_column: str | None, description_column: str | None, amount_column: str | None,
               credit_column: str | None, balance_column: str | None, date_format: str | None) -> ColumnMapping:
    """A generic CSV's column mapping from its named parts (query parameters, CLI options, a form)."""
    if not date_column or not description_column or not (amount_column or credit_column):
        raise Unprocessable("statement_mapping_required", "A generic CSV needs date_column, description_column and "
                            "amount_column (or credit_column): header names or 1-based column numbers.",
                            param="date_column" if not date_column else "description_column"
                            if not description_column else "amount_column")
    if amount_column and credit_column:
        raise Unprocessable("statement_mapping_invalid", "Give amount_column or credit_column, not both.",
                            param="credit_column")
    if date_format and date_format not in DATE_ORDERS:
        raise Unprocessable("invalid_parameter", f"date_format must be one of {', '.join(DATE_ORDERS)}.",
                            param="date_format")
    return ColumnMapping(date=date_column, description=description_column, amount=amount_column or None,
                         credit=credit_column or None, balance=balance_column or None,
                         date_order=DateOrder(date_format or DateOrder.DMY))


def read(format_name: str, data: bytes, mapping: ColumnMapping | None = None) -> Statement:
    """The statement in a file of `format_name`; a file that cannot be read is refused whole (422), naming
    the line and what is wrong with it."""
    if format_name not in FORMATS:
        raise Unprocessable("invalid_parameter", f"format must be one of {', '.join(FORMATS)}.", param="format")
    try:
        return parse(Format(format_name), decode(data), mapping)
    except StatementInvalid as exc:
        raise Unprocessable(exc.code, exc.message, param="file") from exc


@dataclass(frozen=True)
class Upload:
    """A statement file as it came (API, console, CLI), read when `read` is called."""

    format: str
    data: bytes
    mapping: ColumnMapping | None = None
    filename: str | None = None

    def read(self) -> Statement:
        return read(self.format, self.data, self.mapping)


def import_statement(session: Work, parsed: Statement, *, filename: str | None, by: Actor,
                     now: datetime) -> tuple[BankStatement, list[BankStatementLine]]:
    """Store the statement and each of its credit lines, and move each new line's money (module doc); one audit
    entry says who imported it and what became of its lines."""
    statement = BankStatement(id=new_id("bst"), format=parsed.format.value, bank_account=parsed.account,
                              filename=(filename or None) and filename[:200], imported_by=by.label[:200],
                              imported_at=now)
    session.add(statement)
    flush(session)
    known = repository.known_checksums(session, [ln.checksum for ln in parsed.lines])
    fresh = [ln for ln in parsed.lines if ln.checksum not in known]
    decisions = dict(zip((ln.line for ln in fresh), decide([(ln.description, ln.amount) for ln in fresh],
                                                            _candidates(session, fresh)), strict=True))
    out = []
    for parsed_line in parsed.lines:
        original = known.get(parsed_line.checksum)
        if original is None:
            row = _claim(session, statement, parsed_line)
            if row is not None:
                _apply(session, statement, row, decisions[parsed_line.line], now)
                out.append(row)
                continue
            original = repository.known_checksums(session, [parsed_line.checksum])[parsed_line.checksum]
        out.append(_duplicate(session, statement, parsed_line, original))
    flush(session)
    lines: dict[str, int] = {}
    for row in out:
        lines[row.status.value] = lines.get(row.status.value, 0) + 1
    audit.record(session, by, "bank_statement.imported", target_type="bank_statement", target_id=statement.id,
                 now=now, after={"format": statement.format, "filename": statement.filename, "lines": lines,
                                 "amount": sum(row.amount for row in out if row.status != LineStatus.DUPLICATE)})
    return statement, out


def _candidates(session: Work, lines: Sequence[StatementLine]) -> Candidates:
    vas = {va for ln in lines for va in va_numbers_in(ln.description)}
    numbers = {n for ln in lines for n in invoice_numbers_in(ln.description)}
    by_va = {p.va_number: Target(p.invoice_id, p.id) for p in repository.payments_by_va(session, vas)
             if p.va_number and p.invoice_id}
    by_number = {i.number: Target(i.id) for i in repository.invoices_by_number(session, numbers)}
    return Candidates(by_va, by_number, repository.open_by_amount(session, {ln.amount for ln in lines}, CURRENCY))


def _row(statement: BankStatement, line: StatementLine, status: LineStatus, checksum: str | None,
         duplicate_of: str | None = None) -> BankStatementLine:
    return BankStatementLine(id=new_id("bsl"), statement_id=statement.id, line=line.line, posted_on=line.date,
                             amount=line.amount, currency=CURRENCY, description=line.description[:DESCRIPTION_LENGTH],
                             raw=line.raw[:RAW_LENGTH], checksum=checksum, duplicate_of=duplicate_of, status=status)


def _claim(session: Work, statement: BankStatement, line: StatementLine) -> BankStatementLine | None:
    """The line stored under its checksum, or None when another import stored it first (at the same moment:
    the unique checksum decides, and this import reports it as a duplicate)."""
    row = _row(statement, line, LineStatus.NO_MATCH, line.checksum)
    return row if added_unless_taken(session, row) else None


def _duplicate(session: Work, statement: BankStatement, line: StatementLine, original: str) -> BankStatementLine:
    row = _row(statement, line, LineStatus.DUPLICATE, None, original)
    session.add(row)
    return row


def _reference(statement: BankStatement, row: BankStatementLine) -> str:
    return f"bank statement {statement.id} line {row.line} ({row.posted_on.isoformat()})"


def _apply(session: Work, statement: BankStatement, row: BankStatementLine, decision: Decision,
           now: datetime) -> None:
    row.matched_by = decision.via.value if decision.via else None
    if decision.verdict != Verdict.MATCHED or decision.target is None:
        row.status = LineStatus.AMBIGUOUS if decision.verdict == Verdict.AMBIGUOUS else LineStatus.NO_MATCH
        row.candidates = list(decision.candidates) or None
        receipt, held = payments.hold_received(session, account_id=None, invoice_id=None, amount=row.amount,
                                               currency=row.currency, reason=UnappliedReason.STATEMENT_NO_MATCH,
                                               now=now)
        row.receipt_id, row.unapplied_payment_id, row.outcome = receipt.id, held.id, "held_statement_no_match"
        return
    target = decision.target
    invoice = invoices_repo.get(session, target.invoice_id, for_update=True)
    row.invoice_id = invoice.id
    row.status = LineStatus.ALREADY_PAID if invoice.status == InvoiceStatus.PAID else LineStatus.MATCHED
    if target.payment_id is not None:  # the line names a virtual account: what its callback would do
        va = session.get(Payment, target.payment_id, with_for_update=True)
        assert va is not None
        row.payment_id, row.outcome = va.id, _confirm_or_receive(session, va, row, now)
        return
    if invoice.status == InvoiceStatus.PAID:
        paid_by = repository.paid_by(session, invoice.id)
        if paid_by is not None:
            row.payment_id, row.outcome = paid_by.id, _confirm_or_receive(session, paid_by, row, now)
            return
    elif invoice.status in (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED) and payments.can_apply(session, invoice, now):
        payment, row.outcome = payments.receive_transfer(session, invoice, row.amount, row.currency,
                                                         _reference(statement, row), None, now)
        row.payment_id = payment.id
        return
    # An invoice that can no longer be paid (canceled, replaced), or paid without a payment (a zero total):
    # the money is its account's, held.
    reason = UnappliedReason.DUPLICATE if invoice.status == InvoiceStatus.PAID else UnappliedReason.LATE
    receipt, held = payments.hold_received(session, account_id=invoice.account_id, invoice_id=invoice.id,
                                           amount=row.amount, currency=row.currency, reason=reason, now=now)
    row.receipt_id, row.unapplied_payment_id, row.outcome = receipt.id, held.id, f"held_{reason}"


def _confirm_or_receive(session: Work, payment: Payment, row: BankStatementLine, now: datetime) -> str:
    """A statement line about money the books already received for `payment` (its gateway callback came, or
    an operator confirmed the transfer) confirms it: `reconciled`, nothing received again. Only money beyond
    what was received and not yet confirmed by a line is new money, received as a callback would be (and
    held as a duplicate when the invoice is paid already: rule 10)."""
    session.flush()
    if repository.unconfirmed(session, payment.id) >= row.amount:
        return "reconciled"
    return payments.receive(session, payment, row.amount, row.currency, now)


ASSIGNABLE = (LineStatus.NO_MATCH, LineStatus.AMBIGUOUS)


def assign(session: Work, statement_id: str, line_no: int, invoice_id: str, *, by: Actor,
           now: datetime) -> BankStatementLine:
    """An operator names the invoice a no-match or ambiguous line pays: the money held for it since the
    import is the invoice's account's and is applied to it (paid, or held short of its total)."""
    statement = repository.get(session, statement_id)
    row = repository.line(session, statement_id, line_no)
    if row.status not in ASSIGNABLE or row.receipt_id is None or row.unapplied_payment_id is None:
        raise Conflict("line_not_assignable", f"Line {line_no} is {row.status}; only a line that matched no invoice, "
                       "or several, is assigned by hand.", param="line")
    before = {"status": row.status.value, "invoice_id": row.invoice_id}
    payment, outcome = payments.assign_held(session, row.receipt_id, row.unapplied_payment_id, invoice_id,
                                            _reference(statement, row), f"assigned by {by.tag}", now)
    row.status, row.matched_by, row.outcome = LineStatus.MATCHED, Via.HAND.value, outcome
    row.invoice_id, row.payment_id, row.assigned_by, row.assigned_at = invoice_id, payment.id, by.tag[:200], now
    flush(session)
    audit.record(session, by, "bank_statement.line_assigned", target_type="bank_statement", target_id=statement.id,
                 now=now, account_id=payment.account_id, before={**before, "line": line_no},
                 after={"line": line_no, "status": row.status.value, "invoice_id": invoice_id,
                        "payment_id": payment.id, "amount": row.amount, "outcome": outcome})
    return row
