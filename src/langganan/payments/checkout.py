"""Purchase orchestration: what every paid action (a subscription, a plan change, an add-on, a top-up,
paying an open invoice) shares once its endpoint has said what is bought."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from langganan.invoices import repository as invoices_repo
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.work import Work
from langganan.payments import service
from langganan.payments.models import Payment, PaymentMethodType
from langganan.payments.schemas import InvoiceOut, invoice_view

if TYPE_CHECKING:  # (an annotation only: the web layer hands its context in)
    from langganan.web.context import AppContext


def checkout(ctx: AppContext, build: Callable[[Work, datetime], Invoice | None], *, method: str,
             payment_method_id: str | None, bank: str | None) -> InvoiceOut | None:
    """The purchase flow every paid action shares: issue the invoice and open its payment in one
    transaction, commit, charge a card outside it (rule 11), then answer with the invoice as it is now."""
    payment: Payment | None = None
    with ctx.unit() as (s, now):
        invoice = build(s, now)
        if invoice is not None and invoice.status == InvoiceStatus.UNPAID:
            payment = service.start(s, ctx.settings, ctx.gateway, invoice, method=method,
                                    payment_method_id=payment_method_id, bank=bank, now=now)
        invoice_id = invoice.id if invoice is not None else None
    if payment is not None and payment.method == PaymentMethodType.CARD:
        service.charge_card(ctx.db, ctx.settings, ctx.gateway, payment.id, ctx.clock.now)  # may raise 402
    if invoice_id is None:
        return None
    with ctx.unit() as (s, _now):
        return invoice_view(s, invoices_repo.get(s, invoice_id))
