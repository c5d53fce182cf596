from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from langganan.payments.models import Payment, PaymentMethod, PaymentMethodType, PaymentStatus


class PaymentMethodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_token: str = Field(min_length=1, max_length=500)


class PaymentMethodOut(BaseModel):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    default: bool


class PaymentMethodList(BaseModel):
    data: list[PaymentMethodOut]
    has_more: bool = False


class PaymentOut(BaseModel):
    id: str
    invoice_id: str | None
    account_id: str
    method: PaymentMethodType
    status: PaymentStatus
    amount: int
    currency: str
    bank: str | None
    va_number: str | None
    va_expires_at: datetime | None
    biller_code: str | None = None
    qr_string: str | None = None
    reference: str | None
    failure_code: str | None
    failure_message: str | None
    created_at: datetime


class NotificationAck(BaseModel):
    received: bool
    outcome: str


def method_out(pm: PaymentMethod) -> PaymentMethodOut:
    return PaymentMethodOut(id=pm.id, brand=pm.brand, last4=pm.last4, exp_month=pm.exp_month,
                            exp_year=pm.exp_year, default=pm.is_default)


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(id=p.id, invoice_id=p.invoice_id, account_id=p.account_id, method=p.method, status=p.status,
                      amount=p.amount, currency=p.currency, bank=p.bank, va_number=p.va_number,
                      va_expires_at=p.va_expires_at, biller_code=p.biller_code, qr_string=p.qr_string,
                      reference=p.reference, failure_code=p.failure_code,
                      failure_message=p.failure_message, created_at=p.created_at)
