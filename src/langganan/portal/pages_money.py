"""Portal money pages: WhatsApp Balance (top up, Usage and Top-Up History), payment (card or bank
transfer, polled until the money lands) and the invoice table, detail and PDF."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import segno
from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from langganan.accounts import repository as accounts_repo
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.models import InvoiceStatus, InvoiceType
from langganan.kit.errors import DomainError, PaymentRequired
from langganan.kit.openapi import api_router
from langganan.kit.work import Work
from langganan.payments import repository as payments_repo
from langganan.payments import service as payments
from langganan.payments.gateway import BANKS
from langganan.payments.models import PaymentMethodType, PaymentStatus
from langganan.payments.sandbox import SandboxGateway
from langganan.payments.schemas import pdf_data
from langganan.portal import views
from langganan.portal.deps import Portal, PortalForm, PortalFragment, PortalPage, see_other
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets
from langganan.wallets import topups
from langganan.wallets.rules import TOP_UP_LIMITS
from langganan.web.errors import PageError
from langganan.web.forms import rupiah, whole_number

router = api_router(prefix="/portal", include_in_schema=False)
FormStr = Annotated[str, Form()]
HISTORY_TYPES = ("usage", "top_up", "grant", "expiry", "reservation", "adjustment")
PAGE_SIZE = 20


def _wallet_kind(kind: str) -> str:
    if kind not in wallets.KINDS:
        raise PageError(404, "error.not_found")
    return kind


@router.get("/balance", response_class=HTMLResponse)
def balance_page(p: PortalPage) -> HTMLResponse:
    with p.ctx.unit() as (s, now):
        return p.render("portal/balance.html",
                        wallets=[views.shown_wallet(w, now) for w in views.wallets_in_order(s, p.account_id)],
                        limits=TOP_UP_LIMITS)


@router.get("/balance/top-up", response_class=HTMLResponse)
def top_up_page(p: PortalPage, wallet: str = "conversation") -> HTMLResponse:
    kind = _wallet_kind(wallet)
    with p.ctx.unit() as (s, _now):
        account = accounts_repo.get(s, p.account_id)
        return _top_up_form(p, kind, "", None, account.billing_complete)


def _top_up_form(p: Portal, kind: str, amount: str, error: str | None, billing_complete: bool,
                 status: int = 200) -> HTMLResponse:
    low, high = TOP_UP_LIMITS[kind]
    return p.render("portal/top_up.html", wallet=kind, low=low, high=high, amount=amount, error=error,
                    billing_complete=billing_complete, http_status=status)


@router.post("/balance/top-up", response_class=HTMLResponse)
def top_up(p: PortalForm, wallet: FormStr = "conversation", amount: FormStr = "") -> Response:
    kind = _wallet_kind(wallet)
    value = rupiah(amount, 15)
    try:
        if value is None:
            raise DomainError("invalid_amount", "invalid amount", param="amount")
        with p.ctx.unit() as (s, now):
            invoice = topups.issue(s, p.ctx.settings, accounts_repo.get(s, p.account_id), kind, value, now)
    except DomainError as exc:
        with p.ctx.unit() as (s, _now):
            complete = accounts_repo.get(s, p.account_id).billing_complete
        return _top_up_form(p, kind, amount, exc.code, complete, status=exc.status)
    return see_other(f"/portal/pay/{invoice.id}")


def _day(value: str | None, tz: str, *, end: bool = False) -> datetime | None:
    """Local midnight starting the day `value` (YYYY-MM-DD), or with `end` the next local midnight
    (the filter keeps times before it), in UTC; a day that is no date or whose midnight has no UTC
    time (year 1, year 9999) is refused."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
        return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise PageError(422, "error.bad_date") from exc


@router.get("/balance/history", response_class=HTMLResponse)
def usage_history(p: PortalPage, wallet: str = "conversation", type: str = "usage", since: str | None = None,
                  until: str | None = None, before: str | None = None) -> HTMLResponse:
    kind = _wallet_kind(wallet)
    if type not in (*HISTORY_TYPES, "all"):
        type = "usage"
    start, end = _day(since, p.tz), _day(until, p.tz, end=True)
    before_id = whole_number(before or "", 18)  # not a row id: the first page
    with p.ctx.unit() as (s, now):
        w = wallets_repo.get(s, p.account_id, kind)
        rows, more = wallets_repo.entries(s, w.id, types=None if type == "all" else wallets_repo.ENTRY_FILTERS[type],
                                          since=start, until=end, limit=PAGE_SIZE, before_id=before_id)
        chart = views.daily_spend(s, w, p.tz, now)
        return p.render("portal/usage_history.html", wallet=kind, rows=rows, more=more, type=type,
                        since=since or "", until=until or "", chart=chart, types=HISTORY_TYPES,
                        chart_max=max([v for _d, v in chart] + [1]), chart_empty=not any(v for _d, v in chart),
                        captured=views.captured_amounts(s, rows))


@router.get("/balance/top-ups", response_class=HTMLResponse)
def top_up_history(p: PortalPage, status: str | None = None, after: str | None = None) -> HTMLResponse:
    if status not in invoices.STATUSES:
        status = None
    with p.ctx.unit() as (s, _now):
        rows, more = invoices_repo.list_invoices(s, account_id=p.account_id, status=status, type_=InvoiceType.TOP_UP,
                                                 limit=PAGE_SIZE, starting_after=after or None, with_lines=False)
        return p.render("portal/top_up_history.html", rows=rows, more=more, status=status or "",
                        statuses=invoices.STATUSES, labels=views.package_labels(s, rows, p.t))


def _status_context(s: Work, p: Portal, invoice_id: str, now: datetime) -> dict[str, Any]:
    """What _pay_status.html shows: the invoice (not its lines) and, while it is unpaid, the bank
    transfer's virtual account if one is open and what was received so far (short transfers wait for
    the rest, rule 10)."""
    invoice = views.own_invoice(s, p.account_id, invoice_id, with_lines=False)
    unpaid = invoice.status == InvoiceStatus.UNPAID
    payment = views.latest_payment(s, invoice) if unpaid else None
    payable = (payment is not None and payment.status == PaymentStatus.PENDING
               and payment.va_expires_at is not None and payment.va_expires_at > now)
    va = payment if payable and payment is not None and payment.method == PaymentMethodType.BANK_TRANSFER else None
    qr = payment if payable and payment is not None and payment.method == PaymentMethodType.QRIS else None
    received = sum(u.amount for u in payments_repo.underpayments(s, invoice.id)) if unpaid else 0
    return {"invoice": invoice, "va": va, "qr": qr, "qr_svg": qr_svg(qr.qr_string) if qr and qr.qr_string else None,
            "received": received}


def qr_svg(payload: str) -> Markup:
    """The QR code of a QRIS payload as inline SVG (scaled by CSS; no image request, works offline)."""
    code = segno.make(payload, error="m", micro=False)
    svg = code.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=True)
    return Markup(svg)  # segno's own SVG markup (a payload is drawn as modules, never written as text)


def _pay_context(p: Portal, invoice_id: str) -> dict[str, Any]:
    with p.ctx.unit() as (s, now):
        status = _status_context(s, p, invoice_id, now)
        return {**status, "cards": payments_repo.methods_for(s, p.account_id),
                "labels": views.package_labels(s, [status["invoice"]], p.t),
                "banks": BANKS, "qris_max": p.ctx.settings.qris_max_amount,
                "sandbox": isinstance(p.ctx.gateway, SandboxGateway) and p.ctx.settings.sandbox}


@router.get("/pay/{invoice_id}", response_class=HTMLResponse)
def pay_page(invoice_id: str, p: PortalPage) -> HTMLResponse:
    return p.render("portal/pay.html", **_pay_context(p, invoice_id), error=None)


@router.get("/pay/{invoice_id}/status", response_class=HTMLResponse)
def pay_status(invoice_id: str, p: PortalFragment) -> HTMLResponse:
    """Polled every second by the payment page (htmx) until the invoice is paid: only what the
    fragment shows is loaded."""
    with p.ctx.unit() as (s, now):
        return p.render("portal/_pay_status.html", **_status_context(s, p, invoice_id, now))


@router.post("/pay/{invoice_id}/bank-transfer")
def pay_by_transfer(invoice_id: str, p: PortalForm, bank: FormStr = "bca") -> Response:
    if bank not in BANKS:
        raise PageError(422, "error.bad_request")
    with p.ctx.unit() as (s, now):
        invoice = views.own_invoice(s, p.account_id, invoice_id)
        payments.start(s, p.ctx.settings, p.ctx.gateway, invoice, method=PaymentMethodType.BANK_TRANSFER,
                       payment_method_id=None,
                       bank=bank, now=now)
    return see_other(f"/portal/pay/{invoice_id}")


@router.post("/pay/{invoice_id}/qris", response_class=HTMLResponse)
def pay_by_qris(invoice_id: str, p: PortalForm) -> Response:
    try:
        with p.ctx.unit() as (s, now):
            invoice = views.own_invoice(s, p.account_id, invoice_id)
            payments.start(s, p.ctx.settings, p.ctx.gateway, invoice, method=PaymentMethodType.QRIS,
                           payment_method_id=None, bank=None, now=now)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return p.render("portal/pay.html", **_pay_context(p, invoice_id), error=exc.code, http_status=exc.status)
    return see_other(f"/portal/pay/{invoice_id}")


@router.post("/pay/{invoice_id}/card", response_class=HTMLResponse)
def pay_by_card(invoice_id: str, p: PortalForm, payment_method_id: FormStr = "") -> Response:
    with p.ctx.unit() as (s, now):
        invoice = views.own_invoice(s, p.account_id, invoice_id)
        payment = payments.start(s, p.ctx.settings, p.ctx.gateway, invoice, method=PaymentMethodType.CARD,
                                 payment_method_id=payment_method_id, bank=None, now=now)
    try:
        payments.charge_card(p.ctx.db, p.ctx.settings, p.ctx.gateway, payment.id, p.ctx.clock.now)
    except PaymentRequired as exc:
        return p.render("portal/pay.html", **_pay_context(p, invoice_id), error=exc.code, http_status=402)
    return see_other(f"/portal/pay/{invoice_id}")


@router.post("/cards", response_class=HTMLResponse)
def add_card(p: PortalForm, number: FormStr = "", exp_month: FormStr = "", exp_year: FormStr = "",
             cvc: FormStr = "", invoice_id: FormStr = "", back: FormStr = "", pay_now: FormStr = "") -> Response:
    """Sandbox mode: tokenize a test card and save it (a live gateway tokenizes in its own form); with
    `pay_now`, pay the invoice with it in the same step (a past-due renewal paid with a new card)."""
    gateway = p.ctx.gateway
    if not (isinstance(gateway, SandboxGateway) and p.ctx.settings.sandbox):
        raise PageError(404, "error.not_found")
    try:
        with p.ctx.unit() as (s, now):
            invoice = views.own_invoice(s, p.account_id, invoice_id) if invoice_id else None
            month, year = whole_number(exp_month, 2), whole_number(exp_year, 4)
            if month is None or year is None:
                raise DomainError("invalid_card", "invalid card", param="number")
            token = gateway.tokenize(number.replace(" ", ""), month, year, cvc, now=now)
            card = payments.save_method(s, gateway, accounts_repo.get(s, p.account_id), token, now)
            payment = payments.start(s, p.ctx.settings, gateway, invoice, method=PaymentMethodType.CARD,
                                     payment_method_id=card.id, bank=None, now=now) if invoice and pay_now else None
        if payment is not None:
            payments.charge_card(p.ctx.db, p.ctx.settings, gateway, payment.id, p.ctx.clock.now)
    except DomainError as exc:
        if not invoice_id or exc.status == 404:
            raise
        return p.render("portal/pay.html", **_pay_context(p, invoice_id), error=exc.code, http_status=exc.status)
    if back == "payment":
        return see_other("/portal/payment?msg=card_added")
    return see_other(f"/portal/pay/{invoice_id}" if invoice_id else "/portal")


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(p: PortalPage, status: str | None = None, type: str | None = None,
                  after: str | None = None) -> HTMLResponse:
    status = status if status in invoices.STATUSES else None
    type = type if type in invoices.TYPES else None
    with p.ctx.unit() as (s, _now):
        rows, more = invoices_repo.list_invoices(s, account_id=p.account_id, status=status, type_=type,
                                                 limit=PAGE_SIZE, starting_after=after or None, with_lines=False)
        return p.render("portal/invoices.html", rows=rows, more=more, status=status or "", type=type or "",
                        statuses=invoices.STATUSES, types=invoices.TYPES, labels=views.package_labels(s, rows, p.t))


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(invoice_id: str, p: PortalPage) -> HTMLResponse:
    with p.ctx.unit() as (s, _now):
        invoice = views.own_invoice(s, p.account_id, invoice_id)
        return p.render("portal/invoice.html", invoice=invoice, payment=views.latest_payment(s, invoice),
                        labels=views.package_labels(s, [invoice], p.t), line_texts=views.line_texts(s, invoice, p.t))


@router.get("/invoices/{invoice_id}/pdf")
def invoice_pdf(invoice_id: str, p: PortalPage) -> Response:
    with p.ctx.unit() as (s, _now):
        invoice = views.own_invoice(s, p.account_id, invoice_id)
        data = pdf_data(s, invoice)
    from langganan.invoices.pdf import render_invoice_pdf

    pdf = render_invoice_pdf(data, locale=p.lang, timezone=p.tz)
    filename = invoice.number.replace("/", "-") + ".pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
