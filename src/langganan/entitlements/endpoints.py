from __future__ import annotations

from langganan.accounts import repository as accounts_repo
from langganan.entitlements import service
from langganan.entitlements.schemas import CheckIn, CheckOut, EntitlementsOut, LimitOut
from langganan.kit.openapi import api_router
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts/{account_id}/entitlements", tags=["entitlements"])

@router.get("", response_model=EntitlementsOut)
def get_entitlements(account_id: str, ctx: Ctx, _: AnyKey) -> EntitlementsOut:
    with ctx.unit() as (s, _now):
        account = accounts_repo.get(s, account_id)
        plan, features, limits, resets = service.limits_for(s, account)
        return EntitlementsOut(plan=plan, features=features, limits={
            name: LimitOut(limit=lim.limit, used=lim.used, remaining=lim.remaining,
                           resets_at=resets if name == "broadcasts_per_month" else None)
            for name, lim in limits.items()})


@router.post("/check", response_model=CheckOut, summary="May this account use a feature or add N more?")
def check_entitlement(account_id: str, body: CheckIn, ctx: Ctx, _: AnyKey) -> CheckOut:
    with ctx.unit() as (s, _now):
        account = accounts_repo.get(s, account_id)
        return CheckOut(**service.check(s, account, feature=body.feature, limit=body.limit, quantity=body.quantity))
