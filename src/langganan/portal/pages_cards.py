"""Portal: the Payment page, where the customer handles saved cards (add, remove, default) and auto-renew.

Adding a card goes through the configured gateway's own card entry (payments.card_setups): the sandbox keeps
its test-card form (pages_money.add_card); a hosted gateway (Xendit) gets the customer sent to its page, which
sends them back to /portal/payment/cards/return; a tokenising gateway (Midtrans) gets langganan's card page
whose script sends the card straight to the gateway and posts back only the gateway's token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.kit.work import Work
from langganan.payments import auto_top_up, card_setups, cards
from langganan.payments import repository as payments_repo
from langganan.payments.gateway import CardSetupKind
from langganan.payments.models import AutoTopUp
from langganan.payments.sandbox import SandboxGateway
from langganan.portal.deps import Portal, PortalForm, PortalPage, see_other
from langganan.subscriptions import repository as subs_repo
from langganan.wallets import repository as wallets_repo
from langganan.wallets.rules import TOP_UP_LIMITS
from langganan.web.errors import PageError
from langganan.web.forms import rupiah
from langganan.web.templating import SECURITY_HEADERS

router = api_router(prefix="/portal", include_in_schema=False)
FormStr = Annotated[str, Form()]


def _sandbox(p: Portal) -> bool:
    return isinstance(p.ctx.gateway, SandboxGateway) and p.ctx.settings.sandbox


def _page(p: PortalPage, *, error: str | None = None, msg: str | None = None, http_status: int = 200) -> HTMLResponse:
    with p.ctx.unit() as (s, now):
        sub = subs_repo.for_account(s, p.account_id)
        saved = payments_repo.methods_for(s, p.account_id)
        renews = sub.current_period_end if sub.plan_code != "free" else None
        rows = [{"pm": pm, "expires": cards.last_valid_day(pm),
                 "before_renewal": renews is not None and cards.expires_before(pm, renews),
                 "auto_renew": bool(sub.auto_renew and sub.payment_method_id == pm.id)} for pm in saved]
        auto_card = next((r["pm"] for r in rows if r["auto_renew"]), None)
        autos = {w.kind: s.get(AutoTopUp, w.id) for w in wallets_repo.for_account(s, p.account_id)}
        return p.render("portal/payment.html", rows=rows, sub=sub, auto_card=auto_card, renews=renews, error=error,
                        autos=autos, limits=TOP_UP_LIMITS, this_month=now.strftime("%Y-%m"),
                        msg=msg, sandbox=_sandbox(p), http_status=http_status)


@router.get("/payment", response_class=HTMLResponse)
def payment_page(p: PortalPage, msg: str | None = None) -> HTMLResponse:
    return _page(p, msg=msg)


def _refused(p: Portal, exc: DomainError) -> HTMLResponse:
    """A card setup that saved nothing: the Payment page again, saying why (another account's setup: 404)."""
    if exc.status == 404:
        raise exc
    code = "card_setup_failed" if exc.code == "invalid_card_token" else exc.code
    return _page(p, error=code, http_status=exc.status)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@router.post("/payment/cards/new", response_class=HTMLResponse)
def start_card_setup(p: PortalForm) -> Response:
    """Begin adding a card with the gateway: its page (HOSTED) or langganan's page talking to it (TOKENIZE)."""
    if _sandbox(p):
        raise PageError(404, "error.not_found")  # the sandbox's test-card form is on the Payment page itself
    back = str(p.request.url_for("card_setup_return"))
    try:
        setup_id, setup = card_setups.begin(p.ctx.db, p.ctx.gateway, p.account_id,
                                            lambda sid: (f"{back}?setup={sid}", f"{back}?setup={sid}&canceled=1"),
                                            p.ctx.clock.now)
    except DomainError as exc:
        return _refused(p, exc)
    if setup.kind == CardSetupKind.HOSTED and setup.redirect_url:
        # A page that moves on to the gateway (the page's form-action 'self' would refuse a redirect there).
        return p.render("portal/card_redirect.html", redirect_url=setup.redirect_url)
    if setup.kind == CardSetupKind.TOKENIZE and setup.tokenize_url and setup.client_key:
        response = p.render("portal/card_tokenize.html", setup_id=setup_id, tokenize_url=setup.tokenize_url,
                            client_key=setup.client_key)
        # The card goes to the gateway as a JSONP script: this page alone may load scripts from its origin.
        response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
            "script-src 'self'", f"script-src 'self' {_origin(setup.tokenize_url)}")
        return response
    raise PageError(404, "error.not_found")


@router.get("/payment/cards/return", response_class=HTMLResponse, name="card_setup_return")
def card_setup_return(p: PortalPage, setup: str = "", canceled: str = "") -> Response:
    """The customer is back from the gateway's page: the card it saved is kept, or nothing changes."""
    if not setup:
        raise PageError(404, "error.not_found")
    if canceled:
        with p.ctx.unit() as (s, _now):
            payments_repo.card_setup(s, p.account_id, setup)  # only the account's own setup
        return see_other("/portal/payment?msg=card_setup_canceled")
    try:
        card_setups.finish(p.ctx.db, p.ctx.gateway, p.account_id, setup, {}, p.ctx.clock.now)
    except DomainError as exc:
        return _refused(p, exc)
    return see_other("/portal/payment?msg=card_added")


@router.post("/payment/cards/{setup_id}/complete", response_class=HTMLResponse)
def complete_card_setup(setup_id: str, p: PortalForm, saved_token_id: FormStr = "", exp_month: FormStr = "",
                        exp_year: FormStr = "") -> Response:
    """What langganan's tokenising page posts: the gateway's token for the card and the expiry typed."""
    returned = {k: v for k, v in (("saved_token_id", saved_token_id), ("exp_month", exp_month),
                                  ("exp_year", exp_year)) if v}
    try:
        card_setups.finish(p.ctx.db, p.ctx.gateway, p.account_id, setup_id, returned, p.ctx.clock.now)
    except DomainError as exc:
        return _refused(p, exc)
    return see_other("/portal/payment?msg=card_added")


def _act(p: PortalForm, done: str, action: Callable[[Work, datetime], object]) -> Response:
    """Run a card action in one unit of work; a refusal shows the page again with its message."""
    try:
        with p.ctx.unit() as (s, now):
            action(s, now)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _page(p, error=exc.code, http_status=exc.status)
    return see_other(f"/portal/payment?msg={done}")


@router.post("/payment/cards/{pm_id}/remove", response_class=HTMLResponse)
def remove_card(pm_id: str, p: PortalForm) -> Response:
    return _act(p, "card_removed", lambda s, now: cards.remove(s, p.account_id, pm_id, now))


@router.post("/payment/cards/{pm_id}/default", response_class=HTMLResponse)
def default_card(pm_id: str, p: PortalForm) -> Response:
    return _act(p, "card_default", lambda s, now: cards.make_default(s, p.account_id, pm_id, now))


@router.post("/payment/auto-top-up/{kind}", response_class=HTMLResponse)
def set_auto_top_up(kind: str, p: PortalForm, enabled: FormStr = "", threshold: FormStr = "",
                    target: FormStr = "", monthly_cap: FormStr = "", payment_method_id: FormStr = "") -> Response:
    """A wallet's auto top-up as the form sets it: the threshold and target, a monthly cap (empty: none) and the
    card (empty: the default card at the time of each recharge)."""
    def act(s: Work, now: datetime) -> object:
        low, high = rupiah(threshold, 9), rupiah(target, 9)
        if low is None or high is None:
            raise Unprocessable("invalid_amount", "Enter whole amounts in rupiah.", param="threshold")
        cap = rupiah(monthly_cap, 10) if monthly_cap.strip() else None
        if monthly_cap.strip() and cap is None:
            raise Unprocessable("invalid_monthly_cap", "Enter the monthly cap in whole rupiah.", param="monthly_cap")
        return auto_top_up.configure(s, p.account_id, kind, auto_top_up.Setting(
            enabled=enabled == "on", threshold=low, target=high, payment_method_id=payment_method_id.strip() or None,
            monthly_cap=cap), now)
    return _act(p, "auto_top_up_saved", act)


@router.post("/payment/auto-renew", response_class=HTMLResponse)
def auto_renew(p: PortalForm, enabled: FormStr = "", payment_method_id: FormStr = "") -> Response:
    on = enabled == "on"
    return _act(p, "auto_renew_on" if on else "auto_renew_off",
                lambda s, now: cards.set_auto_renew(s, p.account_id, on, (payment_method_id or None) if on else None,
                                                    now))
