"""Portal: the Payment page, where the customer handles saved cards (add, remove, default) and auto-renew."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from langganan.kit.errors import DomainError
from langganan.kit.work import Work
from langganan.payments import cards
from langganan.payments import repository as payments_repo
from langganan.payments.sandbox import SandboxGateway
from langganan.portal.deps import PortalForm, PortalPage, see_other
from langganan.subscriptions import repository as subs_repo

router = APIRouter(prefix="/portal", include_in_schema=False)
FormStr = Annotated[str, Form()]


def _page(p: PortalPage, *, error: str | None = None, msg: str | None = None, http_status: int = 200) -> HTMLResponse:
    with p.ctx.unit() as (s, _now):
        sub = subs_repo.for_account(s, p.account_id)
        saved = payments_repo.methods_for(s, p.account_id)
        renews = sub.current_period_end if sub.plan_code != "free" else None
        rows = [{"pm": pm, "expires": cards.last_valid_day(pm),
                 "before_renewal": renews is not None and cards.expires_before(pm, renews),
                 "auto_renew": bool(sub.auto_renew and sub.payment_method_id == pm.id)} for pm in saved]
        auto_card = next((r["pm"] for r in rows if r["auto_renew"]), None)
        return p.render("portal/payment.html", rows=rows, sub=sub, auto_card=auto_card, renews=renews, error=error,
                        msg=msg, sandbox=isinstance(p.ctx.gateway, SandboxGateway) and p.ctx.settings.sandbox,
                        http_status=http_status)


@router.get("/payment", response_class=HTMLResponse)
def payment_page(p: PortalPage, msg: str | None = None) -> HTMLResponse:
    return _page(p, msg=msg)


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


@router.post("/payment/auto-renew", response_class=HTMLResponse)
def auto_renew(p: PortalForm, enabled: FormStr = "", payment_method_id: FormStr = "") -> Response:
    on = enabled == "on"
    return _act(p, "auto_renew_on" if on else "auto_renew_off",
                lambda s, now: cards.set_auto_renew(s, p.account_id, on, (payment_method_id or None) if on else None,
                                                    now))
