from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.fields import Id
from langganan.kit.work import Work
from langganan.payments import repository as payments_repo
from langganan.payments.models import Payment, PaymentMethodType, PaymentStatus


class LineOut(BaseModel):
    description: str
    kind: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None


class PaymentSummary(BaseModel):
    id: str
    method: PaymentMethodType
    status: PaymentStatus
    amount: int
    bank: str | None = None
    va_number: str | None = None
    va_expires_at: datetime | None = None
    biller_code: str | None = None
    qr_string: str | None = None
    failure_code: str | None = None


class InvoiceOut(BaseModel):
    id: str
    number: str
    account_id: str
    subscription_id: str | None
    type: InvoiceType
    status: InvoiceStatus
    currency: str
    package: str | None
    lines: list[LineOut]
    subtotal: int
    discount: int
    tax: int
    tax_rate_bps: int
    total: int
    period_start: datetime | None
    period_end: datetime | None
    issued_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    seller: dict[str, Any]
    buyer: dict[str, Any]
    original_invoice_id: str | None
    payment: PaymentSummary | None


class InvoiceList(BaseModel):
    data: list[InvoiceOut]
    has_more: bool


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_method: str = Field(max_length=20, description="card, bank_transfer or qris")
    payment_method_id: Id | None = None
    bank: str | None = Field(default=None, max_length=20,
                             description="bca, bni, bri, mandiri or permata (bank transfer)")


class MarkPaidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)


def payment_summary(p: Payment | None) -> PaymentSummary | None:
    if p is None:
        return None
    return PaymentSummary(id=p.id, method=p.method, status=p.status, amount=p.amount, bank=p.bank,
                          va_number=p.va_number, va_expires_at=p.va_expires_at, biller_code=p.biller_code,
                          qr_string=p.qr_string, failure_code=p.failure_code)


def invoice_out(inv: Invoice, payment: Payment | None) -> InvoiceOut:
    return InvoiceOut(
        id=inv.id, number=inv.number, account_id=inv.account_id, subscription_id=inv.subscription_id,
        type=inv.type, status=inv.status, currency=inv.currency, package=inv.package,
        lines=[LineOut(description=ln.description, kind=ln.kind, quantity=ln.quantity, unit_amount=ln.unit_amount,
                       amount=ln.amount, period_start=ln.period_start, period_end=ln.period_end)
               for ln in inv.lines],
        subtotal=inv.subtotal, discount=inv.discount, tax=inv.tax, tax_rate_bps=inv.tax_rate_bps, total=inv.total,
        period_start=inv.period_start, period_end=inv.period_end, issued_at=inv.issued_at,
        expires_at=inv.expires_at, paid_at=inv.paid_at, seller=inv.seller, buyer=inv.buyer,
        original_invoice_id=inv.original_invoice_id, payment=payment_summary(payment))


def invoice_view(session: Work, inv: Invoice) -> InvoiceOut:
    return invoice_out(inv, payments_repo.latest_for_invoice(session, inv.id))


def invoice_views(session: Work, invoices: list[Invoice]) -> list[InvoiceOut]:
    latest = payments_repo.latest_for_invoices(session, [i.id for i in invoices])
    return [invoice_out(i, latest.get(i.id)) for i in invoices]
