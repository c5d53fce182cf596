"""Portal pages: Settings > Subscription and what it opens (upgrade, renew, unsubscribe, add-ons,
billing information, notifications). Money pages (balance, payment, invoices) are in pages_money."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.accounts import repository as accounts_repo
from langganan.accounts import service as accounts
from langganan.addons.rules import MAX_QUANTITY
from langganan.catalog import service as catalog_service
from langganan.invoices.models import InvoiceStatus
from langganan.kit.clock import wall_now
from langganan.kit.errors import DomainError
from langganan.kit.locales import format_when
from langganan.kit.money import format_money
from langganan.kit.openapi import api_router
from langganan.kit.work import Work
from langganan.notifications import service as notifications
from langganan.portal import feed, views
from langganan.portal import repository as portal_repo
from langganan.portal import service as portal_service
from langganan.portal.deps import Portal, PortalForm, PortalPage, see_other
from langganan.subscriptions import addons
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import SubscriptionStatus
from langganan.web import sessions
from langganan.web.context import app_context
from langganan.web.errors import PageError
from langganan.web.forms import require_whole_number
from langganan.web.models import SessionKind

router = api_router(prefix="/portal", include_in_schema=False)
FormStr = Annotated[str, Form()]
FEED_SIZE = 20  # entries on one page of the notifications feed
FEED_READ_MAX = 2_000  # rows read at most for one page (an instant with more rows than this is cut)


@router.get("/session/{token}")
def open_session(token: str, request: Request) -> Response:
    """The login link: trade it for a session cookie, then show the Subscription page."""
    ctx = app_context(request)
    with ctx.db.transaction() as s:
        opened = portal_service.open_link(s, token, wall_now())
    if opened is None:
        raise PageError(401, "error.link_invalid")
    row, cookie = opened
    response = RedirectResponse("/portal", status_code=303)
    sessions.set_cookie(response, request, SessionKind.PORTAL, cookie, row.expires_at)
    return response


@router.post("/logout")
def logout(p: PortalForm) -> Response:
    with p.ctx.db.transaction() as s:
        sessions.revoke(s, p.visitor.session_id)
    response = p.render("portal/signed_out.html")
    sessions.clear_cookie(response, SessionKind.PORTAL)
    return response


@router.get("", response_class=HTMLResponse)
def subscription_page(p: PortalPage, msg: str | None = None) -> HTMLResponse:
    with p.ctx.unit() as (s, now):
        ov = views.overview(s, p.ctx.settings, s.merge(p.account, load=False),  # the account the session loaded
                            now)
        return p.render("portal/subscription.html", ov=ov, msg=msg, labels=views.package_labels(s, ov.invoices, p.t))


@router.get("/upgrade", response_class=HTMLResponse)
def upgrade_page(p: PortalPage, interval: str = "month") -> HTMLResponse:
    if interval not in ("month", "year"):
        interval = "month"
    with p.ctx.unit() as (s, now):
        account = accounts_repo.get(s, p.account_id)
        sub = subs_repo.for_account(s, p.account_id)
        choices = views.plan_choices(s, p.ctx.settings, account, interval, now)
        return p.render("portal/upgrade.html", choices=choices, interval=interval, sub=sub,
                        current_plan=subscriptions.plan_of(s, sub).name,
                        billing_complete=account.billing_complete,
                        default_plan=catalog_service.current(s).default_plan)


@router.post("/upgrade")
def upgrade(p: PortalForm, plan: FormStr = "", interval: FormStr = "month") -> Response:
    with p.ctx.unit() as (s, now):
        account = accounts_repo.get(s, p.account_id)
        quote, invoice = subscriptions.change(s, p.ctx.settings, account, plan, interval or None, now)
    if invoice is not None and invoice.status == InvoiceStatus.UNPAID:
        return see_other(f"/portal/pay/{invoice.id}")
    return see_other("/portal?msg=" + ("downgrade_scheduled" if quote.kind == "downgrade" else "upgraded"))


@router.post("/renew")
def renew(p: PortalForm) -> Response:
    with p.ctx.unit() as (s, now):
        invoice, _created = subscriptions.renew(s, p.ctx.settings, accounts_repo.get(s, p.account_id), now)
    if invoice.status == InvoiceStatus.UNPAID:
        return see_other(f"/portal/pay/{invoice.id}")
    return see_other("/portal?msg=renewed")


@router.post("/unsubscribe")
def unsubscribe(p: PortalForm) -> Response:
    with p.ctx.unit() as (s, now):
        subscriptions.cancel(s, accounts_repo.get(s, p.account_id), True, now)
    return see_other("/portal?msg=unsubscribed")


@router.get("/add-ons", response_class=HTMLResponse)
def buy_add_ons_page(p: PortalPage, add_on: str | None = None, quantity: int = 1) -> HTMLResponse:
    quantity = max(1, min(quantity, MAX_QUANTITY))
    with p.ctx.unit() as (s, now):
        account = accounts_repo.get(s, p.account_id)
        sub = subs_repo.for_account(s, p.account_id)
        catalog = catalog_service.current(s)
        allowed = sub.plan_code != catalog.default_plan and sub.status != SubscriptionStatus.TRIALING
        chosen = catalog.add_ons.get(add_on) if add_on else None
        line = addons.quote(chosen, account, sub, quantity, now) if chosen and allowed else None
        return p.render("portal/add_ons.html", add_ons=list(catalog.add_ons.values()), interval=sub.interval,
                        allowed=allowed, chosen=chosen, quantity=quantity, line=line,
                        billing_complete=account.billing_complete, max_quantity=MAX_QUANTITY)


@router.post("/add-ons")
def buy_add_ons(p: PortalForm, add_on: FormStr = "", quantity: FormStr = "1") -> Response:
    count = require_whole_number(quantity, 9, "error.invalid_quantity")
    with p.ctx.unit() as (s, now):
        account = accounts_repo.get(s, p.account_id)
        sub = subs_repo.for_account(s, p.account_id, for_update=True)
        invoice = addons.buy(s, p.ctx.settings, account, sub, add_on, count, now)
    return see_other(f"/portal/pay/{invoice.id}")


@router.get("/add-ons/manage", response_class=HTMLResponse)
def manage_add_ons_page(p: PortalPage, msg: str | None = None) -> HTMLResponse:
    with p.ctx.unit() as (s, _now):
        sub = subs_repo.for_account(s, p.account_id)
        items = views.add_on_items(s, sub, catalog_service.current(s))
        return p.render("portal/manage_add_ons.html", items=items, msg=msg)


@router.post("/add-ons/{item_id}/stop")
def stop_add_on(item_id: str, p: PortalForm) -> Response:
    with p.ctx.unit() as (s, now):
        account = accounts_repo.get(s, p.account_id)
        sub = subs_repo.for_account(s, p.account_id, for_update=True)
        addons.stop(s, account, sub, item_id, now, subscriptions.plan_of(s, sub).limits)
    return see_other("/portal/add-ons/manage?msg=add_on_stopped")


@router.get("/billing", response_class=HTMLResponse)
def billing_page(p: PortalPage, msg: str | None = None) -> HTMLResponse:
    with p.ctx.unit() as (s, _now):
        a = accounts_repo.get(s, p.account_id)
        values = {"company_name": a.company_name, "contact_name": a.contact_name, "email": a.billing_email,
                  "phone": a.phone, "address": a.address, "city": a.city, "postal_code": a.postal_code,
                  "country": a.country, "tax_id": a.tax_id, "buyer_type": a.buyer_type, "npwp": a.npwp,
                  "nik": a.nik, "nitku": a.nitku, "passport": a.passport}
        return p.render("portal/billing.html", values={k: v or "" for k, v in values.items()}, errors={},
                        msg=msg, complete=a.billing_complete)


@router.post("/billing", response_class=HTMLResponse)
def save_billing(p: PortalForm, company_name: FormStr = "", contact_name: FormStr = "", email: FormStr = "",
                 phone: FormStr = "", address: FormStr = "", city: FormStr = "", postal_code: FormStr = "",
                 country: FormStr = "", tax_id: FormStr = "", buyer_type: FormStr = "", npwp: FormStr = "",
                 nik: FormStr = "", nitku: FormStr = "", passport: FormStr = "") -> Response:
    """The billing information, with the buyer's tax identity for PPN (the same checks as the API's)."""
    values = {"company_name": company_name, "contact_name": contact_name, "email": email, "phone": phone,
              "address": address, "city": city, "postal_code": postal_code, "country": country, "tax_id": tax_id,
              "buyer_type": buyer_type, "npwp": npwp, "nik": nik, "nitku": nitku, "passport": passport}
    limits = {"company_name": 200, "contact_name": 200, "email": 320, "phone": 40, "address": 500, "city": 120,
              "postal_code": 20, "country": 2, "tax_id": 40, "buyer_type": 20, "npwp": 40, "nik": 40, "nitku": 40,
              "passport": 40}
    too_long = [k for k, v in values.items() if len(v.strip()) > limits[k]]
    try:
        if too_long:
            raise DomainError("too_long", "too long", param=too_long[0])
        with p.ctx.unit() as (s, now):
            account = accounts_repo.get(s, p.account_id, for_update=True)
            accounts.update_billing_info(s, account, dict(values), now)
    except DomainError as exc:
        return p.render("portal/billing.html", values=values, errors={exc.param or "": exc.code}, msg=None,
                        complete=False, http_status=422)
    return see_other("/portal/billing?msg=billing_saved")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(p: PortalPage, msg: str | None = None, before: str | None = None) -> HTMLResponse:
    """The feed, FEED_SIZE entries a page, newest first; `before` is the last row of the page before."""
    cursor = before if before and len(before) <= 60 else None
    with p.ctx.unit() as (s, _now):
        groups, older = _feed_page(s, p.account_id, cursor)
        voice = _voice(s, p, [row for g in groups for row in g])
        return p.render("portal/notifications.html", entries=[feed.entry(g, voice) for g in groups], older=older,
                        paged=cursor is not None, msg=msg)


def _feed_page(s: Work, account_id: str, before: str | None) -> tuple[list[list[feed.Row]], str | None]:
    """Read enough rows for FEED_SIZE whole entries (when the read ends inside one, read again, more)."""
    limit = FEED_SIZE * 4
    while True:
        raw = portal_repo.feed_rows(s, account_id, before=before, limit=limit + 1, leave_out=feed.HIDDEN)
        complete = len(raw) <= limit or limit >= FEED_READ_MAX  # past the most read, what was read is the page
        found = feed.page_of(feed.rows_of(raw[:limit]), FEED_SIZE, complete)
        if found is not None:
            return found
        limit *= 4


def _voice(s: Work, p: Portal, rows: list[feed.Row]) -> feed.Voice:
    catalog = catalog_service.current(s)
    invoice_ids = {str(r.data["invoice_id"]) for r in rows if isinstance(r.data.get("invoice_id"), str)}
    owned = portal_repo.own_invoices(s, p.account_id, invoice_ids)
    t = p.t

    def money(amount: Any, currency: Any) -> str:
        ok = isinstance(amount, int) and not isinstance(amount, bool)
        return format_money(amount, str(currency or p.currency), p.lang) if ok else ""

    def date(value: Any) -> str:
        when = value if isinstance(value, datetime) else _instant(value)
        return format_when(when, p.tz, p.lang, "d MMM yyyy") if when is not None else ""

    return feed.Voice(t=t, money=money, date=date, plan_names={c: plan.name for c, plan in catalog.plans.items()},
                      add_on_names={c: views.add_on_name(t, c, a.name) for c, a in catalog.add_ons.items()},
                      invoices=owned, packages=views.package_labels(s, list(owned.values()), t))


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@router.post("/notifications/read")
def mark_all_read(p: PortalForm) -> Response:
    with p.ctx.unit() as (s, now):
        notifications.mark_all_read(s, p.account_id, now)
    return see_other("/portal/notifications?msg=notifications_read")


@router.post("/notifications/{notification_id}/read")
def mark_read(notification_id: str, p: PortalForm, also: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006
    """One entry: its first row in the path, the other rows it stands for in `also` (at most feed.MAX_IDS);
    another account's id is not found (the service checks the owner) and nothing is marked."""
    if len(also) >= feed.MAX_IDS:
        raise PageError(422, "error.bad_request")
    with p.ctx.unit() as (s, now):
        for nid in dict.fromkeys([notification_id, *also]):
            notifications.mark_read(s, p.account_id, nid, now)
    return see_other("/portal/notifications?msg=notifications_read")
