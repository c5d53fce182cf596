"""Console invoice detail: what an invoice says (lines, DPP, PPN, total), the credit notes that refer to it with how
their money went back, and the "Issue credit note" form (amount, reason, where the money goes, the bank
reference of a manual refund) — through the same credit note service as the API (payments/credit_notes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from langganan.console.pages import Console, ConsolePage, MoneyForm
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.models import InvoiceStatus, InvoiceType
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.payments import credit_notes
from langganan.payments.models import CreditRefund
from langganan.web.forms import rupiah

router = api_router(prefix="/console/invoices", include_in_schema=False)
FormStr = Annotated[str, Form()]


def _page(c: Console, invoice_id: str, *, msg: str | None = None, form: dict[str, str] | None = None,
          error: DomainError | None = None, status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        invoice = invoices_repo.get(s, invoice_id)
        notes = invoices_repo.credit_notes_of(s, invoice.id)
        refunds = {r.credit_note_id: r for r in s.scalars(select(CreditRefund)
                                                         .where(CreditRefund.invoice_id == invoice.id))}
        original = invoices_repo.get(s, invoice.original_invoice_id) if invoice.original_invoice_id else None
        left = invoice.total - invoices.credited_so_far(s, invoice).total
        creditable = invoice.type != InvoiceType.CREDIT_NOTE and invoice.status == InvoiceStatus.PAID and left > 0
        return c.render("console/invoice.html", invoice=invoice, notes=notes, refunds=refunds, original=original,
                        left=left, creditable=creditable, msg=msg, form=form or {}, error=error,
                        own_refund=refunds.get(invoice.id) if original is None else None,
                        http_status=status)


@router.get("/{invoice_id}", response_class=HTMLResponse)
def invoice_page(invoice_id: str, c: ConsolePage, msg: str | None = None) -> HTMLResponse:
    return _page(c, invoice_id, msg=msg)


@router.post("/{invoice_id}/credit-notes", response_class=HTMLResponse)
def issue_credit_note(invoice_id: str, c: MoneyForm, amount: FormStr = "", reason: FormStr = "",
                      refund_to: FormStr = "", reference: FormStr = "", wallet: FormStr = "") -> Response:
    form = {"amount": amount, "reason": reason, "refund_to": refund_to, "reference": reference, "wallet": wallet}
    try:
        value = rupiah(amount, 15) if amount.strip() else None
        if amount.strip() and value is None:
            raise Unprocessable("invalid_amount", "Write the amount in whole rupiah (e.g. 150000), or leave it "
                                "empty to credit all that is left.", param="amount")
        want = credit_notes.request(amount=value, reason=reason, refund_to=refund_to,
                                    reference=reference, wallet=wallet or None)
        note_id = credit_notes.issue(c.ctx.db, c.ctx.gateway, c.ctx.settings, invoice_id, want,
                                     by=c.staff, clock_now=c.ctx.clock.now)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _page(c, invoice_id, form=form, error=exc, status=exc.status)
    return RedirectResponse(f"/console/invoices/{invoice_id}?msg=credited#{note_id}", status_code=303)
