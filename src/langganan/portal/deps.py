"""What every portal page needs: the visitor's account (from the session cookie), its language and
time zone, and for forms a CSRF check that runs before anything changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from langganan import logs
from langganan.accounts.models import Account
from langganan.notifications import repository as notifications_repo
from langganan.web import sessions
from langganan.web.context import AppContext, app_context
from langganan.web.errors import PageError
from langganan.web.models import SessionKind
from langganan.web.templating import pick_lang, render


@dataclass
class Portal:
    request: Request
    ctx: AppContext
    visitor: sessions.Visitor
    account_id: str
    account_name: str
    lang: str
    tz: str
    currency: str
    account: Account  # as loaded for this request (detached: read its columns, or merge it)
    unread: int = 0

    def render(self, template: str, *, http_status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template,
                      {"csrf": self.visitor.csrf_token, "account_name": self.account_name,
                       "currency": self.currency, "area": "portal", "unread": self.unread, **context},
                      status=http_status, lang=self.lang, tz=self.tz)


def _portal(request: Request, *, with_unread: bool) -> Portal:
    ctx = app_context(request)
    with ctx.db.sessions() as s:
        visitor = sessions.resolve(s, SessionKind.PORTAL, request.cookies.get(sessions.COOKIES[SessionKind.PORTAL]))
        if visitor is None or visitor.account_id is None:
            raise PageError(401, "error.session_required")
        account = s.get(Account, visitor.account_id)
        if account is None:
            raise PageError(401, "error.session_required")
        logs.note_account(account.id)  # (the request's log lines name the account)
        return Portal(request=request, ctx=ctx, visitor=visitor, account_id=account.id,
                      account_name=account.company_name or account.name, lang=pick_lang(request, account.locale),
                      tz=account.timezone, currency=account.currency, account=account,
                      unread=notifications_repo.unread_count(s, account.id) if with_unread else 0)


def portal_page(request: Request) -> Portal:
    return _portal(request, with_unread=True)


def portal_fragment(request: Request) -> Portal:
    """For a fragment the page polls (no header around it): the session and account, no unread count."""
    return _portal(request, with_unread=False)


def portal_form(p: Annotated[Portal, Depends(portal_page)], csrf_token: Annotated[str, Form()] = "",
                x_csrf_token: Annotated[str | None, Header()] = None) -> Portal:
    if not sessions.csrf_ok(p.visitor.csrf_token, csrf_token, x_csrf_token):
        raise PageError(403, "error.csrf")
    return p


PortalPage = Annotated[Portal, Depends(portal_page)]
PortalForm = Annotated[Portal, Depends(portal_form)]
PortalFragment = Annotated[Portal, Depends(portal_fragment)]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
