from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class PaymentMethodType(StrEnum):
    """How a payment pays: a saved card, a bank transfer to a virtual account, or an operator's word."""

    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    QRIS = "qris"  # a QR code any Indonesian bank or e-wallet app pays
    MANUAL = "manual"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELED = "canceled"
    UNAPPLIED = "unapplied"


class UnappliedReason(StrEnum):
    LATE = "late"
    DUPLICATE = "duplicate"
    OVERPAYMENT = "overpayment"
    UNDERPAYMENT = "underpayment"
    NO_INVOICE = "no_invoice"
    WRONG_CURRENCY = "wrong_currency"
    UNKNOWN_VIRTUAL_ACCOUNT = "unknown_virtual_account"
    # A bank statement line that named no invoice (or several): received under no account, until an
    # operator assigns it to an invoice (statements package).
    STATEMENT_NO_MATCH = "statement_no_match"
    # Money reported paid, then taken back by the gateway (Midtrans settlement → deny): held as a negative
    # amount, what the account owes for an invoice that stays paid (it was fulfilled), until collected or written off.
    REVERSED = "reversed"


class UnappliedStatus(StrEnum):
    OPEN = "open"  # held: the API's `held`
    APPLIED = "applied"
    CREDITED = "credited"  # an operator credited it to the account's wallet (paid credit)
    REFUNDING = "refunding"  # a refund was asked of the gateway; its answer is being recorded
    REFUNDED = "refunded"


class RefundMethod(StrEnum):
    GATEWAY = "gateway"  # the gateway's refund call, on the payment that brought the money
    MANUAL = "manual"  # a bank transfer made by hand, recorded with its reference


class PaymentMethod(Base):
    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    token: Mapped[str] = mapped_column(String(500))
    brand: Mapped[str] = mapped_column(String(30))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]  # the customer removed it: never charged again, kept for its payments
    expiry_noticed_at: Mapped[datetime | None]  # payment_method.expiring was sent


class CardSetupRecord(Base):
    """A card setup a customer began with the gateway (payments.gateway.CardSetup): whose it is, so the
    customer's return is matched to that account and no other, and the card it saved once it is finished."""

    __tablename__ = "card_setups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # langganan's reference, sent to the gateway
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    session_id: Mapped[str] = mapped_column(String(200))  # the gateway's name for the setup
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    payment_method_id: Mapped[str | None] = mapped_column(ForeignKey("payment_methods.id"))


class Payment(Base):
    """created → pending → succeeded | failed | expired | canceled | unapplied, only through the payment
    service. `succeeded`: it paid its invoice, and its amount is the invoice's total (money that arrived
    with it beyond that is held). `unapplied`: a card charge that took money its invoice could not take
    (held as an unapplied payment, rule 10). A virtual account keeps its status while what it receives
    is held (it may receive more)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_invoice", "invoice_id"),
                      Index("ix_payments_pending", "created_at", postgresql_where=text("status = 'pending'"),
                            sqlite_where=text("status = 'pending'")))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    method: Mapped[PaymentMethodType] = mapped_column(text_column(PaymentMethodType, 20))
    provider: Mapped[str] = mapped_column(String(30))
    status: Mapped[PaymentStatus] = mapped_column(text_column(PaymentStatus, 20))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method_id: Mapped[str | None] = mapped_column(ForeignKey("payment_methods.id"))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    bank: Mapped[str | None] = mapped_column(String(20))
    va_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    va_expires_at: Mapped[datetime | None]  # a virtual account's or QR code's expiry
    biller_code: Mapped[str | None] = mapped_column(String(20))  # Mandiri bill payment: beside the bill key
    qr_string: Mapped[str | None] = mapped_column(String(1000))  # QRIS: the payload the page draws
    checked_at: Mapped[datetime | None]  # when the status check last asked the gateway about it
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    failure_code: Mapped[str | None] = mapped_column(String(50))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class GatewayNotification(Base):
    """Every gateway callback, stored once: a repeat of the same provider event changes nothing."""

    __tablename__ = "gateway_notifications"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]


class PaymentReceipt(Base):
    """Money that arrived, once per arrival: a gateway notification (`notification_id`, unique), a card
    charge's outcome or an operator's confirmation. What arrived is applied (a succeeded payment's
    amount) or held (unapplied payments), never both and never neither (rule 10; `verify`)."""

    __tablename__ = "payment_receipts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))  # None: unknown virtual account
    notification_id: Mapped[str | None] = mapped_column(ForeignKey("gateway_notifications.id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime]


class UnappliedPayment(Base):
    """Money received that could not be applied to its invoice (DESIGN rule 10): kept, for refund.

    An underpayment waits for the rest: when later money covers its invoice it is `applied` to the
    payment that paid it (`applied_payment_id`, `applied_at`) and is no longer refundable."""

    __tablename__ = "unapplied_payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[UnappliedReason] = mapped_column(text_column(UnappliedReason, 40))
    status: Mapped[UnappliedStatus] = mapped_column(text_column(UnappliedStatus, 20), default=UnappliedStatus.OPEN)
    created_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    applied_payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    resolved_at: Mapped[datetime | None]  # an operator applied, credited or refunded it (payments/unapplied.py)
    resolved_by: Mapped[str | None] = mapped_column(String(200))  # "api_key:<key name>" or "staff:<email>"
    resolution_reason: Mapped[str | None] = mapped_column(String(500))
    refund_method: Mapped[RefundMethod | None] = mapped_column(text_column(RefundMethod, 20))
    refund_ref: Mapped[str | None] = mapped_column(String(200))  # the gateway's refund id or the bank's reference


class RefundTo(StrEnum):
    """Where a credit note's money goes (payments/credit_notes.py)."""

    GATEWAY = "gateway"  # the gateway's refund call on the payment that paid the original
    WALLET = "wallet"  # paid credit in one of the account's wallets
    MANUAL = "manual"  # a bank transfer made by hand, recorded with its reference


class CreditRefundStatus(StrEnum):
    PENDING = "pending"  # claimed; the gateway is being asked (its credit note is not issued yet)
    SUCCEEDED = "succeeded"  # the money went back and the credit note is issued
    FAILED = "failed"  # the gateway refused or did not answer: nothing was credited, no number taken


class CreditRefund(Base):
    """How a credit note's money went back: one row per credit note, written before it (a gateway refund is
    claimed here, committed, then asked of the gateway with `credit_note_id` as idempotency key; the credit
    note with that id is issued only once the gateway accepted). `amount` is the credit note's total as a
    positive amount; `wallet_amount` what moved a wallet for it (signed: + credited to `wallet`, - the unspent
    paid credit a top-up refund took back), the sum of its ledger adjustments referencing `credit_note_id`."""

    __tablename__ = "credit_refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(String(40), unique=True)  # the credit note's id, reserved
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)  # the original
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[RefundTo] = mapped_column(text_column(RefundTo, 20))
    status: Mapped[CreditRefundStatus] = mapped_column(text_column(CreditRefundStatus, 20))
    reason: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(200))  # the gateway's refund id or the bank's reference
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))  # gateway: the payment refunded
    wallet: Mapped[str | None] = mapped_column(String(20))
    wallet_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    requested_by: Mapped[str] = mapped_column(String(200))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class AutoTopUp(Base):
    """A wallet's auto top-up (payments/auto_top_up.py): below `threshold`, charge the card back up to `target`,
    at most once per interval, within `monthly_cap`; `invoice_id` is the one recharge in flight; a decline
    pauses it (`paused_at`) until the customer turns it on again."""

    __tablename__ = "auto_top_ups"

    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    enabled: Mapped[bool] = mapped_column(Boolean)
    threshold: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[int] = mapped_column(BigInteger)
    payment_method_id: Mapped[str | None] = mapped_column(ForeignKey("payment_methods.id"))
    monthly_cap: Mapped[int | None] = mapped_column(BigInteger)
    month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM (UTC) that month_total counts
    month_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    last_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
