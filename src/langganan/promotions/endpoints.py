from __future__ import annotations

from langganan.kit.openapi import api_router
from langganan.kit.web import Limit, StartingAfter
from langganan.promotions import repository, service
from langganan.promotions.schemas import (
    PromotionCreate,
    PromotionList,
    PromotionOut,
    RedemptionList,
    promotion_out,
    redemption_out,
)
from langganan.web.context import AdminKey, Ctx

router = api_router(prefix="/v1", tags=["promotions"])


@router.post("/promotions", status_code=201, response_model=PromotionOut,
             summary="Create a promotion code (operators only)")
def create_promotion(body: PromotionCreate, ctx: Ctx, key: AdminKey) -> PromotionOut:
    with ctx.unit() as (s, now):
        return promotion_out(service.create(s, service.NewPromotion(**body.model_dump()), now, by=key.actor))


@router.get("/promotions", response_model=PromotionList, summary="Promotions, newest first (operators only)")
def list_promotions(ctx: Ctx, _: AdminKey, limit: Limit = 20, starting_after: StartingAfter = None) -> PromotionList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_promotions(s, limit, starting_after)
        return PromotionList(data=[promotion_out(p) for p in rows], has_more=more)


@router.get("/promotions/{promotion}", response_model=PromotionOut, summary="A promotion by id or code")
def get_promotion(promotion: str, ctx: Ctx, _: AdminKey) -> PromotionOut:
    with ctx.unit() as (s, _now):
        return promotion_out(repository.get(s, promotion))


@router.get("/promotions/{promotion}/redemptions", response_model=RedemptionList,
            summary="The accounts that redeemed a promotion")
def list_redemptions(promotion: str, ctx: Ctx, _: AdminKey, limit: Limit = 20,
                     starting_after: StartingAfter = None) -> RedemptionList:
    with ctx.unit() as (s, _now):
        promo = repository.get(s, promotion)
        rows, more = repository.redemptions(s, promo.id, limit, starting_after)
        return RedemptionList(data=[redemption_out(r) for r in rows], has_more=more)
