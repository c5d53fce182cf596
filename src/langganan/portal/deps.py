"""What every portal page needs: the visitor's account (from the session cookie), its language and
time zone, and for forms a CSRF check that runs before anything changes.

A staff view (a portal session a console user opened, `portal.service.open_staff_view`) shows the pages as
the customer sees them, read-only: every form field and button on them is disabled, and any request that could change
something (any method but GET and HEAD, and the one GET that keeps a card) is refused with 403 before it
reaches its route."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from langganan import logs
from langganan.accounts.models import Account
from langganan.kit.work import Work
from langganan.portal import feed
from langganan.portal import repository as portal_repo
from langganan.web import sessions
from langganan.web.context import AppContext, app_context
from langganan.web.errors import PageError
from langganan.web.i18n import Translator, translator
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

    @property
    def staff_view(self) -> bool:
        """A console user looking at the account's portal: read-only."""
        return self.visitor.staff_user_id is not None

    @property
    def t(self) -> Translator:
        """The page's message catalog (its language)."""
        return translator(self.lang)

    def render(self, template: str, *, http_status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template,
                      {"csrf": self.visitor.csrf_token, "account_name": self.account_name,
                       "currency": self.currency, "area": "portal", "unread": self.unread,
                       "staff_view": self.staff_view, **context},
                      status=http_status, lang=self.lang, tz=self.tz,
                      transform=disable_forms if self.staff_view else None)


# a form control's start tag that is not disabled yet
CONTROL = re.compile(r"<(input|select|textarea|button)\b(?![^>]*\sdisabled\b)[^>]*>", re.IGNORECASE)
# GET routes that change something: a staff view may not open them
CHANGES_ON_GET = frozenset({"card_setup_return"})


def disable_forms(html: str) -> str:
    """Every field and every submitting button of the page disabled (no JavaScript needed); buttons that only
    open or close a dialog (type="button") keep working, so the staff member sees what the customer would."""
    def disable(m: re.Match[str]) -> str:
        tag = m.group(0)
        if m.group(1).lower() == "button" and re.search(r"""\stype=["']?button\b""", tag, re.IGNORECASE):
            return tag
        return f"{tag[:-2]} disabled/>" if tag.endswith("/>") else f"{tag[:-1]} disabled>"
    return CONTROL.sub(disable, html)


def _refuse_changes(request: Request) -> None:
    route = request.scope.get("route")
    if request.method not in ("GET", "HEAD") or getattr(route, "name", None) in CHANGES_ON_GET:
        raise PageError(403, "error.staff_view_read_only")


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
        if visitor.staff_user_id is not None:
            _refuse_changes(request)
        return Portal(request=request, ctx=ctx, visitor=visitor, account_id=account.id,
                      account_name=account.company_name or account.name, lang=pick_lang(request, account.locale),
                      tz=account.timezone, currency=account.currency, account=account,
                      unread=_unread(s, account.id) if with_unread else 0)


def _unread(session: Work, account_id: str) -> int:
    """Unread feed entries, counted as the feed lists them (one per happening, bookkeeping left out)."""
    raw = portal_repo.feed_rows(session, account_id, before=None, limit=feed.UNREAD_READ_LIMIT, leave_out=feed.HIDDEN,
                                unread_only=True)
    return feed.unread_entries(feed.rows_of(raw))


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
