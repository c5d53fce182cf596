from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.invoices.schemas import LineOut
from langganan.kit.work import Work
from langganan.payments import repository
from langganan.payments.models import Payment, PaymentMethod, PaymentMethodType, PaymentStatus


class PaymentMethodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_token: str = Field(min_length=1, max_length=500)


class CardSetupCreate(BaseModel):
    """Where the gateway sends the customer back after entering the card (a hosted page), or gives up."""

    model_config = ConfigDict(extra="forbid")
    return_url: str = Field(min_length=8, max_length=1000, pattern=r"^https?://[^\s]+$")
    cancel_url: str = Field(min_length=8, max_length=1000, pattern=r"^https?://[^\s]+$")


class CardSetupOut(BaseModel):
    """A card setup begun with the configured gateway. `kind` says what the integrator's UI does:
    `hosted`: send the customer to `redirect_url`, then complete the setup when they come back to
    return_url; `tokenize`: send the card from the customer's browser to `tokenize_url` with `client_key`
    (Midtrans card registration: GET with card_number, card_exp_month, card_exp_year, client_key), then
    complete with its `saved_token_id` and the expiry; `sandbox_form`: complete with a `provider_token`
    from POST /v1/sandbox/cards."""

    id: str
    kind: str
    redirect_url: str | None = None
    tokenize_url: str | None = None
    client_key: str | None = None


class CardSetupComplete(BaseModel):
    """What came back from the card entry: nothing for a hosted page (langganan asks the gateway)."""

    model_config = ConfigDict(extra="forbid")
    saved_token_id: str | None = Field(default=None, min_length=1, max_length=200)
    exp_month: str | None = Field(default=None, pattern=r"^[0-9]{1,2}$")
    exp_year: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    provider_token: str | None = Field(default=None, min_length=1, max_length=500)


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


# -- an invoice as the API shows it: with its latest payment (payments sits above invoices) --

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
    tax_base: int = Field(description="DPP: the part of subtotal - discount the tax rate applied to (11/12 of it "
                                      "for PPN on DPP nilai lain; all of it on invoices issued before)")
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
    refers_to: str | None = Field(default=None, description="A credit note: the invoice it corrects (the same as "
                                  "original_invoice_id)")
    payment: PaymentSummary | None


class InvoiceList(BaseModel):
    data: list[InvoiceOut]
    has_more: bool


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
        subtotal=inv.subtotal, discount=inv.discount, tax_base=inv.tax_base_amount, tax=inv.tax,
        tax_rate_bps=inv.tax_rate_bps, total=inv.total,
        period_start=inv.period_start, period_end=inv.period_end, issued_at=inv.issued_at,
        expires_at=inv.expires_at, paid_at=inv.paid_at, seller=inv.seller, buyer=inv.buyer,
        original_invoice_id=inv.original_invoice_id, refers_to=inv.original_invoice_id,
        payment=payment_summary(payment))


def invoice_view(session: Work, inv: Invoice) -> InvoiceOut:
    return invoice_out(inv, repository.latest_for_invoice(session, inv.id))


def invoice_views(session: Work, invoices: list[Invoice]) -> list[InvoiceOut]:
    latest = repository.latest_for_invoices(session, [i.id for i in invoices])
    return [invoice_out(i, latest.get(i.id)) for i in invoices]


def pdf_data(session: Work, inv: Invoice) -> dict[str, Any]:
    """What the PDF prints (invoices/pdf.py): the API's view, and for a credit note the number of the invoice it
    corrects (`refers_to_number`)."""
    data = invoice_view(session, inv).model_dump()
    if inv.original_invoice_id is not None:
        original = session.get(Invoice, inv.original_invoice_id)
        data["refers_to_number"] = original.number if original is not None else None
    return data
