"""Console: money received and held (rule 10), with its reason, and the operator's three ways out of it — apply
it to an invoice, credit it to a wallet, refund it — each with a reason recorded (payments/unapplied.py, the
same path as the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.console.pages import PAGE_SIZE, Console, ConsolePage, MoneyForm
from langganan.invoices import repository as invoices_repo
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.payments import repository, unapplied
from langganan.payments.models import UnappliedStatus

router = api_router(prefix="/console/unapplied", include_in_schema=False)
FormStr = Annotated[str, Form()]
STATUSES = [s.value for s in UnappliedStatus]


def _list(c: Console, *, status: str | None = "open", after: str | None = None, msg: str | None = None,
          error: DomainError | None = None, error_id: str | None = None, http_status: int = 200) -> HTMLResponse:
    chosen = status if status in STATUSES else None
    with c.ctx.unit() as (s, _now):
        rows, more = repository.list_unapplied(s, status=chosen, account_id=None, limit=PAGE_SIZE,
                                               starting_after=after or None)
        return c.render("console/unapplied.html", rows=rows, more=more, status=chosen or "", statuses=STATUSES,
                        msg=msg, error=error, error_id=error_id, http_status=http_status)


@router.get("", response_class=HTMLResponse)
def unapplied_page(c: ConsolePage, status: str | None = "open", after: str | None = None,
                   msg: str | None = None) -> HTMLResponse:
    return _list(c, status=status, after=after, msg=msg)


def _done(c: Console, held_id: str, msg: str, act: Callable[[], None]) -> Response:
    try:
        act()
    except DomainError as exc:
        if exc.code == "unapplied_payment_not_found":
            raise
        return _list(c, error=exc, error_id=held_id, http_status=exc.status)
    return RedirectResponse(f"/console/unapplied?msg={msg}", status_code=303)


@router.post("/{held_id}/apply", response_class=HTMLResponse)
def apply(held_id: str, c: MoneyForm, invoice: FormStr = "", reason: FormStr = "") -> Response:
    def act() -> None:
        wanted = invoice.strip().upper()
        if not wanted or len(wanted) > 40:
            raise Unprocessable("invoice_required", "Enter the invoice number or id.", param="invoice_id")
        with c.ctx.unit() as (s, now):
            by_number = invoices_repo.id_by_number(s, wanted)
            unapplied.apply(s, held_id, by_number or invoice.strip(), by=c.staff, reason=reason,
                            now=now)
    return _done(c, held_id, "applied", act)


@router.post("/{held_id}/credit", response_class=HTMLResponse)
def credit(held_id: str, c: MoneyForm, wallet: FormStr = "conversation", reason: FormStr = "") -> Response:
    def act() -> None:
        with c.ctx.unit() as (s, now):
            unapplied.credit_wallet(s, held_id, wallet, by=c.staff, reason=reason, now=now)
    return _done(c, held_id, "credited", act)


@router.post("/{held_id}/refund", response_class=HTMLResponse)
def refund(held_id: str, c: MoneyForm, method: FormStr = "manual", reference: FormStr = "",
           reason: FormStr = "") -> Response:
    def act() -> None:
        unapplied.refund(c.ctx.db, c.ctx.gateway, held_id, by=c.staff, reason=reason,
                         method=method, reference=reference or None, clock_now=c.ctx.clock.now)
    return _done(c, held_id, "refunded", act)
