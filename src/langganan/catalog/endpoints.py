from __future__ import annotations

from langganan.catalog import service
from langganan.catalog.schemas import (
    AddOnList,
    MeterList,
    PlanList,
    add_on_out,
    meter_out,
    plan_out,
)
from langganan.kit.openapi import api_router
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1", tags=["catalog"])


@router.get("/plans", response_model=PlanList, summary="Plans of the current catalog, by rank")
def list_plans(ctx: Ctx, _: AnyKey) -> PlanList:
    with ctx.unit() as (s, _now):
        c = service.current(s)
        return PlanList(data=[plan_out(p, c) for p in c.plans_by_rank()])


@router.get("/add-ons", response_model=AddOnList, summary="Add-ons, priced per unit per interval")
def list_add_ons(ctx: Ctx, _: AnyKey) -> AddOnList:
    with ctx.unit() as (s, _now):
        c = service.current(s)
        return AddOnList(data=[add_on_out(a, c) for a in c.add_ons.values()])


@router.get("/meters", response_model=MeterList, summary="Usage meters and the wallet each debits")
def list_meters(ctx: Ctx, _: AnyKey) -> MeterList:
    with ctx.unit() as (s, _now):
        c = service.current(s)
        return MeterList(data=[meter_out(m, c) for m in c.meters.values()])
