"""The operator console: staff sign-in, accounts, invoices (confirm a bank transfer by hand), the
event log and the catalog (the sandbox engine clock is in pages_clock.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.accounts import repository as accounts_repo
from langganan.accounts.models import Account
from langganan.addons import repository as addons_repo
from langganan.audit.models import ActorKind
from langganan.audit.service import Actor
from langganan.catalog import service as catalog_service
from langganan.console import service
from langganan.console.applicable import applicable, state_of
from langganan.console.models import StaffUser
from langganan.console.roles import Permission, StaffRole, allows
from langganan.events import repository as events_repo
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.kit.clock import wall_now
from langganan.kit.errors import NotFound
from langganan.kit.openapi import api_router
from langganan.payments import repository as payments_repo
from langganan.payments import service as payments
from langganan.subscriptions import repository as subs_repo
from langganan.wallets import repository as wallets_repo
from langganan.web import sessions
from langganan.web.context import AppContext, app_context
from langganan.web.errors import PageError
from langganan.web.models import SessionKind
from langganan.web.templating import pick_lang, render

router = api_router(prefix="/console", include_in_schema=False)
FormStr = Annotated[str, Form()]
LOGIN_CSRF_COOKIE = "langganan_console_login"
PAGE_SIZE = 25
NOTE_LENGTH = 500  # payments.note


@dataclass
class Console:
    request: Request
    ctx: AppContext
    visitor: sessions.Visitor
    staff: Actor
    role: StaffRole

    @property
    def staff_email(self) -> str:
        return self.staff.label

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    def render(self, template: str, *, http_status: int = 200, **context: Any) -> HTMLResponse:
        can = {p.value: self.can(p) for p in Permission}
        return render(self.request, template, {"csrf": self.visitor.csrf_token, "area": "console",
                                               "staff_email": self.staff_email, "staff_role": self.role, "can": can,
                                               "sandbox": self.ctx.settings.sandbox, **context},
                      status=http_status, lang=pick_lang(self.request, "en"))


def console_page(request: Request) -> Console:
    ctx = app_context(request)
    with ctx.db.sessions() as s:
        visitor = sessions.resolve(s, SessionKind.CONSOLE, request.cookies.get(sessions.COOKIES[SessionKind.CONSOLE]))
        user = s.get(StaffUser, visitor.staff_user_id) if visitor and visitor.staff_user_id else None
        if visitor is None or user is None or user.disabled_at is not None:
            raise PageError(401, "error.login_required", redirect="/console/login")
        return Console(request=request, ctx=ctx, visitor=visitor, staff=Actor(ActorKind.STAFF, user.id, user.email),
                       role=user.role)


def console_form(c: Annotated[Console, Depends(console_page)], csrf_token: FormStr = "",
                 x_csrf_token: Annotated[str | None, Header()] = None) -> Console:
    if not sessions.csrf_ok(c.visitor.csrf_token, csrf_token, x_csrf_token):
        raise PageError(403, "error.csrf")
    return c


def _needs(permission: Permission, form: bool) -> Callable[..., Console]:
    """A console dependency that also requires the staff role to grant `permission` (403 otherwise)."""
    def check(c: Console) -> Console:
        if not c.can(permission):
            raise PageError(403, "error.forbidden")
        return c

    if form:
        def form_dependency(c: Annotated[Console, Depends(console_form)]) -> Console:
            return check(c)
        return form_dependency

    def page_dependency(c: Annotated[Console, Depends(console_page)]) -> Console:
        return check(c)
    return page_dependency


ConsolePage = Annotated[Console, Depends(console_page)]  # any signed-in staff user (Permission.READ)
ConsoleForm = Annotated[Console, Depends(console_form)]  # any signed-in staff user; only signing out uses it
AccountsForm = Annotated[Console, Depends(_needs(Permission.ACCOUNTS, form=True))]
MoneyForm = Annotated[Console, Depends(_needs(Permission.MONEY, form=True))]
MoneyPage = Annotated[Console, Depends(_needs(Permission.MONEY, form=False))]
SettingsForm = Annotated[Console, Depends(_needs(Permission.SETTINGS, form=True))]
SettingsPage = Annotated[Console, Depends(_needs(Permission.SETTINGS, form=False))]


def _login_form(request: Request, error: str | None, status: int = 200, email: str = "") -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "console/login.html", {"area": "console", "login_csrf": token, "error": error,
                                                      "email": email, "csrf": None},
                      status=status, lang=pick_lang(request, "en"))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/console", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _login_form(request, None)


@router.post("/login")
def login(request: Request, email: FormStr = "", password: FormStr = "", csrf_token: FormStr = "") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not sessions.csrf_ok(expected, csrf_token, None):
        raise PageError(403, "error.csrf")
    ctx = app_context(request)
    ip = request.client.host if request.client else "unknown"
    try:
        with ctx.db.transaction() as s:
            user = service.authenticate(s, email, password, ip, wall_now())
            created = sessions.create(s, SessionKind.CONSOLE, staff_user_id=user.id) if user else None
    except service.TooManyAttempts:
        return _login_form(request, "too_many_attempts", 429, email)
    if created is None:
        return _login_form(request, "bad_credentials", 401, email)
    row, token = created
    response = RedirectResponse("/console", status_code=303)
    sessions.set_cookie(response, request, SessionKind.CONSOLE, token, row.expires_at)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout")
def logout(c: ConsoleForm) -> Response:
    with c.ctx.db.transaction() as s:
        sessions.revoke(s, c.visitor.session_id)
    response = RedirectResponse("/console/login", status_code=303)
    sessions.clear_cookie(response, SessionKind.CONSOLE)
    return response


@router.get("", response_class=HTMLResponse)
def accounts_page(c: ConsolePage, q: str = "", after: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = accounts_repo.search(s, q, PAGE_SIZE, after or None)
        plans = {sub.account_id: sub for sub in subs_repo.for_accounts(s, [a.id for a in rows])}
        return c.render("console/accounts.html", rows=rows, more=more, q=q, subs=plans)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(account_id: str, c: ConsolePage) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        account = s.get(Account, account_id)
        if account is None:
            raise NotFound("account", account_id)
        sub = subs_repo.for_account(s, account_id)
        recent, _ = invoices_repo.list_invoices(s, account_id=account_id, status=None, type_=None, limit=10,
                                                starting_after=None, with_lines=False)
        evts, _ = events_repo.list_events(s, account_id=account_id, type_=None, limit=20, starting_after=None)
        return c.render("console/account.html", account=account, sub=sub, items=addons_repo.live_items(s, sub.id),
                        wallets=wallets_repo.for_account(s, account_id), invoices=recent, events=evts,
                        cards=payments_repo.methods_for(s, account_id),
                        applicable=applicable(state_of(s, account, sub)))


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(c: ConsolePage, status: str = "", type: str = "", q: str = "", after: str | None = None,
                  msg: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = invoices_repo.search(s, status=status if status in invoices.STATUSES else None,
                                          type_=type if type in invoices.TYPES else None, q=q, limit=PAGE_SIZE,
                                          starting_after=after or None)
        latest = payments_repo.latest_for_invoices(s, [i.id for i in rows])
        return c.render("console/invoices.html", rows=rows, more=more, status=status, type=type, q=q, msg=msg,
                        statuses=invoices.STATUSES, types=invoices.TYPES, payments=latest)


@router.post("/invoices/{invoice_id}/mark-paid", response_class=HTMLResponse)
def mark_paid(invoice_id: str, c: MoneyForm, reference: FormStr = "", note: FormStr = "") -> Response:
    reference, note = reference.strip(), note.strip()
    if not reference or len(reference) > 200 or len(note) > 400:
        raise PageError(422, "error.bad_request")
    note = f"confirmed by {c.staff_email}" + (f": {note}" if note else "")
    if len(note) > NOTE_LENGTH:  # the payment's column (a long staff email leaves less room for the note)
        raise PageError(422, "error.bad_request")
    with c.ctx.unit() as (s, now):
        invoice = invoices_repo.get(s, invoice_id)
        payments.mark_paid_manually(s, invoice, reference, note, now, by=c.staff)
    return RedirectResponse(f"/console/invoices?q={invoice_id}&msg=marked_paid", status_code=303)


@router.get("/events", response_class=HTMLResponse)
def events_page(c: ConsolePage, type: str = "", account_id: str = "", after: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = events_repo.list_events(s, account_id=account_id or None, type_=type or None, limit=PAGE_SIZE,
                                             starting_after=after or None)
        return c.render("console/events.html", rows=rows, more=more, type=type, account_id=account_id)


@router.get("/catalog", response_class=HTMLResponse)
def catalog_page(c: ConsolePage) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        return c.render("console/catalog.html", catalog=catalog_service.current(s))
