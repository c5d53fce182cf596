from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from langganan.kit.openapi import api_router, errors
from langganan.reports import service
from langganan.web.context import AdminKey, Ctx

router = api_router(prefix="/v1/reports", tags=["reports"])


class RevenueMonth(BaseModel):
    month: str
    mrr: int
    new_mrr: int
    expansion_mrr: int
    contraction_mrr: int
    churned_mrr: int
    paying_accounts: int
    wallet_revenue: int
    top_ups_collected: int
    refunds: int


class RevenueReport(BaseModel):
    data: list[RevenueMonth]


@router.get("/revenue", response_model=RevenueReport, summary="Revenue figures per month",
            description="One row per month of the seller's time zone: MRR at the month's end (monthly equivalent "
            "of active paid subscriptions at list price), new, expansion, contraction and churned MRR (from each "
            "subscription's MRR at the month's start and end), paying accounts, wallet revenue (paid credit spent "
            "on messages), top-ups collected (paid top-up invoices) and refunds (credit notes). Admin keys only.",
            responses=errors(422))
def revenue_report(ctx: Ctx, _: AdminKey,
                   since: Annotated[str, Query(description="First month, YYYY-MM")],
                   until: Annotated[str, Query(description="Last month, YYYY-MM (at most 36 months)")]
                   ) -> RevenueReport:
    with ctx.unit() as (s, _now):
        rows = service.revenue(s, since, until, ctx.settings.seller_timezone)
    return RevenueReport(data=[RevenueMonth(**asdict(r)) for r in rows])
