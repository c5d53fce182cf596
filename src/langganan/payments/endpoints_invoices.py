from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from langganan.accounts import repository as accounts_repo
from langganan.audit import service as audit
from langganan.invoices import repository, service
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.invoices.schemas import MarkPaidRequest, PayRequest
from langganan.kit.errors import Conflict, Unprocessable
from langganan.kit.openapi import api_router, errors
from langganan.kit.web import Limit, StartingAfter
from langganan.kit.work import Work
from langganan.payments import credit_notes
from langganan.payments import service as payments
from langganan.payments.checkout import checkout
from langganan.payments.schemas import InvoiceList, InvoiceOut, invoice_view, invoice_views, pdf_data
from langganan.web.context import AdminKey, AnyKey, Ctx

router = api_router(prefix="/v1/invoices", tags=["invoices"])


class CreditNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int | None = Field(default=None, gt=0, le=10**15, description="What goes back to the customer, tax "
                               "included; omitted: all of the invoice that is not credited yet")
    reason: str = Field(min_length=1, max_length=500, description="Why (printed on the credit note)")
    refund_to: Literal["gateway", "wallet", "manual"] = Field(description="gateway: the gateway's refund of the "
                                                              "payment that paid the invoice; wallet: paid credit "
                                                              "in a wallet; manual: a bank transfer you made")
    reference: str | None = Field(default=None, max_length=200, description="manual: the transfer's reference")
    wallet: Literal["conversation", "broadcast"] | None = Field(default=None, description="wallet: which one "
                                                                "(conversation when omitted)")


@router.get("", response_model=InvoiceList, summary="List invoices, newest first")
def list_invoices(ctx: Ctx, _: AnyKey, account_id: str | None = None,
                  status: Annotated[str | None, Query(description="unpaid, paid, expired, canceled, failed, waived")]
                  = None, type: Annotated[str | None, Query(description="subscription, renewal, plan_change, "
                                                             "add_on, top_up, credit_note")] = None,
                  limit: Limit = 20, starting_after: StartingAfter = None) -> InvoiceList:
    if status is not None and status not in service.STATUSES:
        raise Unprocessable("invalid_parameter", f"status must be one of {', '.join(service.STATUSES)}.",
                            param="status")
    if type is not None and type not in service.TYPES:
        raise Unprocessable("invalid_parameter", f"type must be one of {', '.join(service.TYPES)}.", param="type")
    with ctx.unit() as (s, _now):
        rows, more = repository.list_invoices(s, account_id=account_id, status=status, type_=type, limit=limit,
                                              starting_after=starting_after)
        return InvoiceList(data=invoice_views(s, list(rows)), has_more=more)


@router.get("/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, ctx: Ctx, _: AnyKey) -> InvoiceOut:
    with ctx.unit() as (s, _now):
        return invoice_view(s, repository.get(s, invoice_id))


@router.get("/{invoice_id}/pdf", response_class=Response, summary="The invoice as a PDF",
            responses={200: {"content": {"application/pdf": {}}}})
def get_invoice_pdf(invoice_id: str, ctx: Ctx, _: AnyKey) -> Response:
    with ctx.unit() as (s, _now):
        invoice = repository.get(s, invoice_id)
        account = accounts_repo.get(s, invoice.account_id)
        data = pdf_data(s, invoice)
    from langganan.invoices.pdf import render_invoice_pdf  # fpdf2 loads only when a PDF is asked for

    pdf = render_invoice_pdf(data, locale=account.locale, timezone=account.timezone)
    filename = invoice.number.replace("/", "-") + ".pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/{invoice_id}/pay", response_model=InvoiceOut, responses=errors(402),
             summary="Pay an unpaid invoice by saved card (charged now) or bank transfer (virtual account)")
def pay_invoice(invoice_id: str, body: PayRequest, ctx: Ctx, key: AnyKey) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        invoice = repository.get(s, invoice_id)
        if invoice.status != InvoiceStatus.UNPAID:
            raise Conflict("invoice_not_payable", f"Invoice {invoice.number} is {invoice.status}; it cannot be paid.")
        audit.record(s, key.actor, "invoice.payment_started", target_type="invoice", target_id=invoice.id, now=now,
                     account_id=invoice.account_id, before={"status": invoice.status.value},
                     after={"payment_method": body.payment_method, "payment_method_id": body.payment_method_id,
                            "amount": invoice.total})
        return invoice

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)


@router.post("/{invoice_id}/mark-paid", response_model=InvoiceOut,
             summary="An operator confirms a bank transfer by hand (admin keys only)")
def mark_paid(invoice_id: str, body: MarkPaidRequest, ctx: Ctx, key: AdminKey) -> InvoiceOut:
    with ctx.unit() as (s, now):
        invoice = repository.get(s, invoice_id)
        payments.mark_paid_manually(s, invoice, body.reference, body.note, now, by=key.actor)
        return invoice_view(s, invoice)


@router.post("/{invoice_id}/cancel", response_model=InvoiceOut, summary="Cancel an unpaid invoice")
def cancel_invoice(invoice_id: str, ctx: Ctx, key: AnyKey) -> InvoiceOut:
    with ctx.unit() as (s, now):
        invoice = repository.get(s, invoice_id, for_update=True)
        before = {"status": invoice.status.value}
        service.cancel(s, invoice, now)
        payments.expire_pending(s, invoice, now)
        audit.record(s, key.actor, "invoice.canceled", target_type="invoice", target_id=invoice.id, now=now,
                     account_id=invoice.account_id, before=before, after={"status": invoice.status.value})
        return invoice_view(s, invoice)


@router.post("/{invoice_id}/credit-notes", response_model=InvoiceOut, status_code=201, responses=errors(409, 422, 502),
             summary="Issue a credit note for a paid invoice and give its money back (admin keys only)",
             description="The credit note is an invoice of type `credit_note` that `refers_to` the original, with "
             "negative lines, DPP and PPN reversed in proportion, its own number and status `paid` (settled). Full "
             "(no `amount`) or partial; the credit notes of an invoice add up to at most its total. An unpaid "
             "invoice is canceled instead (409 `invoice_not_paid`). `gateway` refunds through the gateway that took "
             "the payment (409 `refund_not_through_gateway` otherwise); the credit note is issued only once the "
             "gateway accepted, and a 503 is finished by the same request again. A top-up gives back only unspent "
             "paid credit (422 `refund_exceeds_unspent_credit`). The subscription is not changed.")
def issue_credit_note(invoice_id: str, body: CreditNoteIn, ctx: Ctx, key: AdminKey) -> InvoiceOut:
    want = credit_notes.request(amount=body.amount, reason=body.reason, refund_to=body.refund_to,
                                reference=body.reference, wallet=body.wallet)
    note_id = credit_notes.issue(ctx.db, ctx.gateway, ctx.settings, invoice_id, want, by=key.actor,
                                 clock_now=ctx.clock.now)
    with ctx.unit() as (s, _now):
        return invoice_view(s, repository.get(s, note_id))
