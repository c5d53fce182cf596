"""The console's sandbox outbox: the emails langganan sent (or, without LANGGANAN_SMTP_HOST, would have sent), as
the recipient reads them. Mounted in sandbox mode only (app.create_app): in live mode the pages do not exist."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from langganan.console.pages import PAGE_SIZE, ConsolePage
from langganan.notifications import repository
from langganan.web.errors import PageError

router = APIRouter(prefix="/console/emails", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def emails_page(c: ConsolePage, after: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = repository.emails(s, PAGE_SIZE, after or None)
        return c.render("console/emails.html", rows=rows, more=more)


@router.get("/{delivery_id}", response_class=HTMLResponse)
def email_page(delivery_id: str, c: ConsolePage) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        email = repository.delivery(s, delivery_id)
        if email is None or email.channel != "email":
            raise PageError(404, "error.not_found")
        return c.render("console/email.html", email=email)
