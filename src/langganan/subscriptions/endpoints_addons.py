from __future__ import annotations

from langganan.accounts import repository as accounts_repo
from langganan.addons import repository
from langganan.addons.schemas import ItemList, ItemOut, item_out
from langganan.audit import service as audit
from langganan.kit.openapi import api_router
from langganan.subscriptions import addons as service
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.service import plan_of
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts/{account_id}/add-ons", tags=["add-ons"])

@router.get("", response_model=ItemList, summary="Manage Add-Ons: the active add-ons")
def list_account_add_ons(account_id: str, ctx: Ctx, _: AnyKey) -> ItemList:
    with ctx.unit() as (s, _now):
        sub = subs_repo.for_account(s, account_id)
        return ItemList(data=[item_out(it) for it in repository.live_items(s, sub.id)])


@router.post("/{item_id}/stop", response_model=ItemOut,
             summary="Stop an add-on at period end; 409 limit_exceeded when usage needs it")
def stop_add_on(account_id: str, item_id: str, ctx: Ctx, key: AnyKey) -> ItemOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        sub = subs_repo.for_account(s, account_id, for_update=True)
        item = service.stop(s, account, sub, item_id, now, plan_of(s, sub).limits)
        out = item_out(item)
        audit.record(s, key.actor, "add_on.stopped", target_type="add_on_item", target_id=item.id, now=now,
                     account_id=account_id, after={"add_on": out.add_on, "quantity": out.quantity,
                                                   "status": str(out.status),
                                                   "ends_at": out.ends_at.isoformat() if out.ends_at else None})
        return out
