"""Opening an emailed sign-in link (portal/email_links.py): GET shows a button, POST spends the link,
starts a portal session and lands on the invoice. A visitor already signed in to the link's account
goes straight to the invoice and the link stays unused."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.accounts.models import Account
from langganan.kit.clock import wall_now
from langganan.kit.openapi import api_router
from langganan.portal import email_links
from langganan.portal import service as portal_service
from langganan.web import sessions
from langganan.web.context import app_context
from langganan.web.errors import PageError
from langganan.web.models import SessionKind
from langganan.web.templating import pick_lang, render

router = api_router(prefix="/portal/email-link", include_in_schema=False)


@router.get("/{token}", response_class=HTMLResponse)
def email_link_page(token: str, request: Request) -> Response:
    ctx = app_context(request)
    now = wall_now()
    with ctx.db.transaction() as s:
        link = email_links.find(s, token)
        visitor = sessions.resolve(s, SessionKind.PORTAL, request.cookies.get(sessions.COOKIES[SessionKind.PORTAL]))
        if link is not None and visitor is not None and visitor.account_id == link.account_id:
            return RedirectResponse(email_links.destination(s, link), status_code=303)
        if link is None or not email_links.usable(link, now):
            raise PageError(401, "error.link_invalid")
        account = s.get(Account, link.account_id)
        invoice = email_links.invoice_of(s, link)
        lang = pick_lang(request, account.locale if account is not None else "en")
        return render(request, "portal/email_link.html",
                      {"area": "portal", "token": token, "invoice": invoice,
                       "account_name": account.company_name or account.name if account is not None else ""},
                      lang=lang)


@router.post("/{token}")
def open_email_link(token: str, request: Request) -> Response:
    ctx = app_context(request)
    with ctx.db.transaction() as s:
        link = email_links.find(s, token)
        opened = portal_service.open_link(s, token, wall_now()) if link is not None else None
        if link is None or opened is None:
            raise PageError(401, "error.link_invalid")
        target = email_links.destination(s, link)
    row, cookie = opened
    response = RedirectResponse(target, status_code=303)
    sessions.set_cookie(response, request, SessionKind.PORTAL, cookie, row.expires_at)
    return response
