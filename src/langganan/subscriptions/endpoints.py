from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from langganan.accounts import repository as accounts_repo
from langganan.addons import repository as addons_repo
from langganan.addons.schemas import item_out
from langganan.catalog import service as catalog_service
from langganan.invoices.models import Invoice
from langganan.invoices.schemas import InvoiceOut
from langganan.kit.openapi import errors
from langganan.kit.work import Work
from langganan.payments.checkout import checkout
from langganan.promotions import service as promotions
from langganan.subscriptions import repository, service
from langganan.subscriptions.rules import Quote
from langganan.subscriptions.schemas import (
    AutoRenewRequest,
    CancelRequest,
    ChangeOut,
    ChangeRequest,
    ExtendTrialRequest,
    PreviewOut,
    PreviewRequest,
    RenewRequest,
    SubscriptionOut,
    preview_out,
    subscription_out,
)
from langganan.web.context import AdminKey, AnyKey, AppContext, Ctx

router = APIRouter(prefix="/v1/accounts/{account_id}/subscription", tags=["subscriptions"])


def _view(ctx: AppContext, account_id: str) -> SubscriptionOut:
    with ctx.unit() as (s, _now):
        sub = repository.for_account(s, account_id)
        items = [item_out(it) for it in addons_repo.live_items(s, sub.id)]
        return subscription_out(sub, catalog_service.get(s, sub.catalog_version_id).version, items,
                                promotions.view(s, sub), service.paid_through(s, sub))


@router.get("", response_model=SubscriptionOut)
def get_subscription(account_id: str, ctx: Ctx, _: AnyKey) -> SubscriptionOut:
    return _view(ctx, account_id)


@router.post("/preview", response_model=PreviewOut, summary="What a plan change would cost; creates nothing")
def preview_change(account_id: str, body: PreviewRequest, ctx: Ctx, _: AnyKey) -> PreviewOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        quote, blocked = service.preview(s, account, body.plan, body.interval, now)
        return preview_out(quote, account.currency, blocked)


@router.post("/change", response_model=ChangeOut, responses=errors(402),
             summary="Upgrade (invoice now, switch when paid) or schedule a downgrade at period end")
def change_plan(account_id: str, body: ChangeRequest, ctx: Ctx, _: AnyKey) -> ChangeOut:
    quotes: list[Quote] = []

    def build(s: Work, now: datetime) -> Invoice | None:
        quote, invoice = service.change(s, ctx.settings, accounts_repo.get(s, account_id), body.plan,
                                        body.interval, now)
        quotes.append(quote)
        return invoice

    inv = checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)
    return ChangeOut(kind=quotes[0].api_kind, invoice=inv, applies_at=quotes[0].applies_at)


@router.post("/renew", response_model=InvoiceOut,
             responses={201: {"model": InvoiceOut, "description": "A new renewal invoice (200: the open one again)"},
                        **errors(402)},
             summary="The renewal invoice for the period after the current one (returns the open one if any)")
def renew_subscription(account_id: str, body: RenewRequest, ctx: Ctx, _: AnyKey,
                       response: Response) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        invoice, created = service.renew(s, ctx.settings, accounts_repo.get(s, account_id), now)
        response.status_code = 201 if created else 200
        return invoice

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)


@router.post("/cancel", response_model=SubscriptionOut,
             summary="Back to Free at period end (default) or now")
def cancel_subscription(account_id: str, body: CancelRequest, ctx: Ctx, _: AnyKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        service.cancel(s, account, body.at_period_end, now)
    return _view(ctx, account_id)


@router.post("/auto-renew", response_model=SubscriptionOut,
             summary="Turn automatic renewal with a saved card on or off")
def set_auto_renew(account_id: str, body: AutoRenewRequest, ctx: Ctx, _: AnyKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        service.set_auto_renew(s, account, body.enabled, body.payment_method_id, now)
    return _view(ctx, account_id)


@router.post("/extend-trial", response_model=SubscriptionOut,
             summary="Give a trial more time (operators only)")
def extend_trial(account_id: str, body: ExtendTrialRequest, ctx: Ctx, _: AdminKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        service.extend_trial(s, account, body.days, now)
    return _view(ctx, account_id)
