"""Redeeming a promotion code on the account's subscription; the rest of the promotions API is
`promotions.endpoints`."""

from __future__ import annotations

from langganan.accounts import repository as accounts_repo
from langganan.audit import service as audit
from langganan.kit.openapi import api_router
from langganan.promotions.schemas import RedeemRequest, RedemptionOut, redemption_out
from langganan.subscriptions import redemptions
from langganan.subscriptions import repository as subs_repo
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1", tags=["promotions"])


@router.post("/accounts/{account_id}/promotions", status_code=201, response_model=RedemptionOut,
             summary="Redeem a promotion code on the account's subscription")
def redeem_promotion(account_id: str, body: RedeemRequest, ctx: Ctx, key: AnyKey) -> RedemptionOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        sub = subs_repo.for_account(s, account_id, for_update=True)
        out = redemption_out(redemptions.redeem(s, account, sub, body.code, now))
        audit.record(s, key.actor, "promotion.redeemed", target_type="subscription", target_id=sub.id, now=now,
                     account_id=account_id, after={"code": out.code, "redemption_id": out.id,
                                                   "ends_at": out.ends_at.isoformat()})
        return out
