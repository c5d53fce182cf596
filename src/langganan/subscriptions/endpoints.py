from __future__ import annotations

from langganan.accounts import repository as accounts_repo
from langganan.addons import repository as addons_repo
from langganan.addons.schemas import item_out
from langganan.catalog import service as catalog_service
from langganan.kit.openapi import api_router
from langganan.promotions import service as promotions
from langganan.subscriptions import audited, repository, service
from langganan.subscriptions.schemas import (
    CancelRequest,
    ExtendTrialRequest,
    PreviewOut,
    PreviewRequest,
    SubscriptionOut,
    preview_out,
    subscription_out,
)
from langganan.web.context import AdminKey, AnyKey, AppContext, Ctx

router = api_router(prefix="/v1/accounts/{account_id}/subscription", tags=["subscriptions"])


def subscription_view(ctx: AppContext, account_id: str) -> SubscriptionOut:
    with ctx.unit() as (s, _now):
        sub = repository.for_account(s, account_id)
        items = [item_out(it) for it in addons_repo.live_items(s, sub.id)]
        return subscription_out(sub, catalog_service.get(s, sub.catalog_version_id).version, items,
                                promotions.view(s, sub), service.paid_through(s, sub))


@router.get("", response_model=SubscriptionOut)
def get_subscription(account_id: str, ctx: Ctx, _: AnyKey) -> SubscriptionOut:
    return subscription_view(ctx, account_id)


@router.post("/preview", response_model=PreviewOut, summary="What a plan change would cost; creates nothing")
def preview_change(account_id: str, body: PreviewRequest, ctx: Ctx, _: AnyKey) -> PreviewOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        quote, blocked = service.preview(s, account, body.plan, body.interval, now)
        return preview_out(quote, account.currency, blocked)


@router.post("/cancel", response_model=SubscriptionOut,
             summary="Back to Free at period end (default) or now")
def cancel_subscription(account_id: str, body: CancelRequest, ctx: Ctx, key: AnyKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        with audited.recorded(s, key.actor, "subscription.canceled", account_id, now) as extra:
            service.cancel(s, account, body.at_period_end, now)
            extra["at_period_end"] = body.at_period_end
    return subscription_view(ctx, account_id)


@router.post("/extend-trial", response_model=SubscriptionOut,
             summary="Give a trial more time (operators only)")
def extend_trial(account_id: str, body: ExtendTrialRequest, ctx: Ctx, key: AdminKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        with audited.recorded(s, key.actor, "subscription.trial_extended", account_id, now) as extra:
            service.extend_trial(s, account, body.days, now)
            extra["days"] = body.days
    return subscription_view(ctx, account_id)
