from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class LineStatus(StrEnum):
    MATCHED = "matched"  # paid (or, short or late, held for) the invoice it names
    ALREADY_PAID = "already_paid"  # its invoice was paid before: the money is held as a duplicate
    NO_MATCH = "no_match"  # held, under no account, until an operator assigns it
    AMBIGUOUS = "ambiguous"  # as no_match, with the invoices it could pay
    DUPLICATE = "duplicate"  # the same bank line came in an earlier file: nothing was done


class BankStatement(Base):
    """One imported statement file."""

    __tablename__ = "bank_statements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    format: Mapped[str] = mapped_column(String(20))
    bank_account: Mapped[str | None] = mapped_column(String(40))  # the account number the file names
    filename: Mapped[str | None] = mapped_column(String(200))
    imported_by: Mapped[str | None] = mapped_column(String(200))  # a staff email or an API key id
    imported_at: Mapped[datetime]


class BankStatementLine(Base):
    """A credit line of a statement. `checksum` is unique: the same bank line in a second file is stored
    as `duplicate` with no checksum, pointing at the first (`duplicate_of`), and moves no money.
    `receipt_id`/`unapplied_payment_id`: the money a no-match or ambiguous line brought, received and held
    under no account until it is assigned."""

    __tablename__ = "bank_statement_lines"
    __table_args__ = (UniqueConstraint("statement_id", "line"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("bank_statements.id"))
    line: Mapped[int] = mapped_column(Integer)  # the file's line number
    posted_on: Mapped[date]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(String(2000))
    checksum: Mapped[str | None] = mapped_column(String(64), unique=True)
    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("bank_statement_lines.id"))
    status: Mapped[LineStatus] = mapped_column(text_column(LineStatus, 20))
    matched_by: Mapped[str | None] = mapped_column(String(20))  # matching.Via
    outcome: Mapped[str | None] = mapped_column(String(40))  # what the payments service did with the money
    candidates: Mapped[list[Any] | None]  # an ambiguous line's invoice ids
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("payment_receipts.id"))
    unapplied_payment_id: Mapped[str | None] = mapped_column(ForeignKey("unapplied_payments.id"))
    assigned_by: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime | None]
