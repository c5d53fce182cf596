from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.kit.fields import INT32_MAX, Instant
from langganan.promotions.models import Promotion, PromotionRedemption, RedemptionEndReason, RedemptionStatus

PlanCode = Annotated[str, Field(min_length=1, max_length=40)]


class PromotionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40, description="3-40 letters, digits, '-' or '_'; stored upper-case")
    percent_off: StrictInt | None = Field(default=None, ge=1, le=100)
    amount_off: StrictInt | None = Field(default=None, ge=1, le=10**12, description="In the minor unit")
    plans: list[PlanCode] = Field(min_length=1, max_length=20, description="Eligible plan codes")
    ends_at: Instant | None = Field(default=None, description="The end date, or give duration_months")
    duration_months: StrictInt | None = Field(default=None, ge=1, le=120,
                                              description="Months from each redemption")
    max_redemptions: StrictInt | None = Field(default=None, ge=1, le=INT32_MAX)


class PromotionOut(BaseModel):
    id: str
    code: str
    percent_off: int | None
    amount_off: int | None
    currency: str
    plans: list[str]
    ends_at: datetime | None
    duration_months: int | None
    max_redemptions: int | None
    redemptions: int
    created_at: datetime


class PromotionList(BaseModel):
    data: list[PromotionOut]
    has_more: bool


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)


class RedemptionOut(BaseModel):
    id: str
    promotion_id: str
    account_id: str
    code: str
    ends_at: datetime
    status: RedemptionStatus = Field(description="active or ended")
    end_reason: RedemptionEndReason | None = Field(description="expired, upgrade or plan_not_eligible")
    ended_at: datetime | None
    created_at: datetime


class RedemptionList(BaseModel):
    data: list[RedemptionOut]
    has_more: bool


def promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(id=p.id, code=p.code, percent_off=p.percent_off, amount_off=p.amount_off, currency=p.currency,
                        plans=list(p.plans), ends_at=p.ends_at, duration_months=p.duration_months,
                        max_redemptions=p.max_redemptions, redemptions=p.redemptions, created_at=p.created_at)


def redemption_out(r: PromotionRedemption) -> RedemptionOut:
    return RedemptionOut(id=r.id, promotion_id=r.promotion_id, account_id=r.account_id, code=r.code,
                         ends_at=r.ends_at, status=r.status, end_reason=r.end_reason, ended_at=r.ended_at,
                         created_at=r.created_at)
