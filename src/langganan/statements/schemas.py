from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from langganan.statements.models import BankStatement, BankStatementLine


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: str = Field(min_length=1, max_length=40, description="The invoice this line's money pays")


class StatementLineOut(BaseModel):
    line: int = Field(description="The line's number in the file (the header is a line too)")
    date: date
    amount: int = Field(description="Money in, in whole rupiah")
    currency: str
    description: str
    status: str = Field(description="matched | already_paid | no_match | ambiguous | duplicate")
    invoice_id: str | None = None
    invoice_number: str | None = None
    matched_by: str | None = Field(default=None, description="virtual_account | invoice_number | amount | hand")
    outcome: str | None = Field(default=None, description="What the money did: applied, or held_<reason> "
                                "(underpayment, duplicate, late, statement_no_match, ...)")
    payment_id: str | None = None
    unapplied_payment_id: str | None = Field(default=None, description="The held money of a no_match or "
                                             "ambiguous line")
    candidates: list[str] | None = Field(default=None, description="An ambiguous line: the invoices it could pay")
    duplicate_of: str | None = Field(default=None, description="A duplicate: the id of the line first imported")
    assigned_at: datetime | None = None


class StatementOut(BaseModel):
    id: str
    format: str
    bank_account: str | None
    filename: str | None
    imported_at: datetime
    lines: list[StatementLineOut]
    summary: dict[str, int] = Field(description="How many lines have each status")


class StatementSummaryOut(BaseModel):
    id: str
    format: str
    bank_account: str | None
    filename: str | None
    imported_at: datetime


class StatementList(BaseModel):
    data: list[StatementSummaryOut]
    has_more: bool


def line_out(row: BankStatementLine, numbers: Mapping[str, str]) -> StatementLineOut:
    return StatementLineOut(line=row.line, date=row.posted_on, amount=row.amount, currency=row.currency,
                            description=row.description, status=row.status, invoice_id=row.invoice_id,
                            invoice_number=numbers.get(row.invoice_id or ""), matched_by=row.matched_by,
                            outcome=row.outcome, payment_id=row.payment_id,
                            unapplied_payment_id=row.unapplied_payment_id,
                            candidates=list(row.candidates) if row.candidates else None,
                            duplicate_of=row.duplicate_of, assigned_at=row.assigned_at)


def statement_out(statement: BankStatement, rows: Sequence[BankStatementLine],
                  numbers: Mapping[str, str]) -> StatementOut:
    summary: dict[str, int] = {}
    for row in rows:
        summary[row.status] = summary.get(row.status, 0) + 1
    return StatementOut(id=statement.id, format=statement.format, bank_account=statement.bank_account,
                        filename=statement.filename, imported_at=statement.imported_at,
                        lines=[line_out(r, numbers) for r in rows], summary=summary)
