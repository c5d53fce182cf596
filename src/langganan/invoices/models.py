from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from langganan.invoices.actions import ActionJSON, InvoiceAction
from langganan.kit.db import Base
from langganan.kit.enums import text_column


class InvoiceType(StrEnum):
    SUBSCRIPTION = "subscription"  # a plan bought (or a legacy subscriber's waived last month)
    RENEWAL = "renewal"
    PLAN_CHANGE = "plan_change"
    ADD_ON = "add_on"
    TOP_UP = "top_up"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELED = "canceled"
    FAILED = "failed"  # card attempts exhausted
    WAIVED = "waived"


class Invoice(Base):
    """Issued invoices never change their content: seller, buyer and lines are copied at issue.

    Only the payment state (status, paid_at) moves, through the invoice service's transitions.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        # DESIGN rule 4: one renewal invoice per (subscription, period start); expired and failed ones
        # count (their period's payment window is over), only a canceled one may be replaced.
        Index("uq_invoices_renewal", "subscription_id", "period_start", unique=True,
              sqlite_where=text("type = 'renewal' AND status <> 'canceled'"),
              postgresql_where=text("type = 'renewal' AND status <> 'canceled'")),
        Index("ix_invoices_account_created", "account_id", "id"),
        # the renewal lookups by (subscription, period): the partial unique index above cannot serve a
        # query whose status list is a bound parameter
        Index("ix_invoices_subscription_period", "subscription_id", "period_start"),
        Index("ix_invoices_status_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id"))
    type: Mapped[InvoiceType] = mapped_column(text_column(InvoiceType, 20))
    status: Mapped[InvoiceStatus] = mapped_column(text_column(InvoiceStatus, 20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_rate_bps: Mapped[int] = mapped_column(Integer, default=0)
    # DPP: the part of subtotal - discount the rate applied to (invoices/tax.py). None on a row written
    # without it (before migration 0020 every invoice was taxed on its whole price): see `tax_base_amount`.
    tax_base: Mapped[int | None] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    package: Mapped[str | None] = mapped_column(String(200))
    seller: Mapped[dict[str, Any]]
    buyer: Mapped[dict[str, Any]]
    # What paying this invoice does (e.g. switch plan), and the state it was priced against.
    action: Mapped[InvoiceAction] = mapped_column(ActionJSON)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    original_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # invoices.rules.content_digest of what was issued (None: issued before migration 0013)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    @property
    def taxable(self) -> int:
        """The price after discounts, never below 0 (what the tax base is a part of)."""
        return max(0, self.subtotal - self.discount)

    @property
    def tax_base_amount(self) -> int:
        """DPP as issued: the stored tax base, or the whole price after discounts on an invoice without one."""
        return self.taxable if self.tax_base is None else self.tax_base

    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.position", lazy="selectin", cascade="all, delete-orphan")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(40))  # the invoice's
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]


class InvoiceSequence(Base):
    """One gapless counter per calendar month in the seller's time zone (DESIGN rule 12)."""

    __tablename__ = "invoice_sequences"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026/11
    last_value: Mapped[int] = mapped_column(Integer, default=0)
