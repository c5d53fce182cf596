"""The console's sandbox outbox: the emails langganan sent (or, without LANGGANAN_SMTP_HOST, would have sent), as
the recipient reads them. Mounted in sandbox mode only (app.create_app): in live mode the pages do not exist.

An email's HTML part is served by a route of its own under a strict Content-Security-Policy (nothing loads, no
script runs, `sandbox`: an origin of its own) and shown in a sandboxed iframe; the console page itself keeps
its own policy. Its attachments are listed and served as the courier draws them when it sends (the invoice's
PDF). The pay link's one-time token is made when the email is sent and kept nowhere: it shows as a placeholder."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from langganan.console.pages import PAGE_SIZE, ConsolePage
from langganan.kit.openapi import api_router
from langganan.kit.work import Work
from langganan.notifications import attachments, repository
from langganan.notifications.messages import LINK
from langganan.notifications.models import Channel, Delivery
from langganan.web.errors import PageError

router = api_router(prefix="/console/emails", include_in_schema=False)
# The HTML part's own policy: its inline styles and nothing else; framed only by the console; a sandbox.
HTML_PART_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _email(s: Work, delivery_id: str) -> Delivery:
    email = repository.delivery(s, delivery_id)
    if email is None or email.channel != Channel.EMAIL:
        raise PageError(404, "error.not_found")
    return email


def _placeholder(c: ConsolePage) -> str:
    return f"{c.ctx.settings.public_url}/portal/email-link/[one-time-token]"


def _files(s: Work, email: Delivery) -> list[str]:
    """The names of the files the email carries (the invoice's PDF), as the courier attaches them."""
    if not email.attach_invoice or email.invoice_id is None:
        return []
    source = attachments.invoice_pdf(s, email.invoice_id)
    return [source.filename] if source is not None else []


@router.get("", response_class=HTMLResponse)
def emails_page(c: ConsolePage, after: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = repository.emails(s, PAGE_SIZE, after or None)
        return c.render("console/emails.html", rows=rows, more=more)


@router.get("/{delivery_id}", response_class=HTMLResponse)
def email_page(delivery_id: str, c: ConsolePage) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        email = _email(s, delivery_id)
        placeholder = _placeholder(c)
        return c.render("console/email.html", email=email, text=email.body.replace(LINK, placeholder),
                        has_link=LINK in email.body, placeholder=placeholder, files=_files(s, email))


@router.get("/{delivery_id}/html", response_class=HTMLResponse)
def email_html(delivery_id: str, c: ConsolePage) -> HTMLResponse:
    """The HTML part alone, for the page's sandboxed iframe."""
    with c.ctx.unit() as (s, _now):
        email = _email(s, delivery_id)
        if email.html is None:
            raise PageError(404, "error.not_found")
        return HTMLResponse(email.html.replace(LINK, str(escape(_placeholder(c)))), headers=HTML_PART_HEADERS)


@router.get("/{delivery_id}/attachments/{filename}")
def email_attachment(delivery_id: str, filename: str, c: ConsolePage) -> Response:
    with c.ctx.unit() as (s, _now):
        email = _email(s, delivery_id)
        source = attachments.invoice_pdf(s, email.invoice_id) if email.attach_invoice and email.invoice_id else None
    if source is None or source.filename != filename:
        raise PageError(404, "error.not_found")
    pdf = source.render()
    return Response(pdf.data, media_type=pdf.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{pdf.filename}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
