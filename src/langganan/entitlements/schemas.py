"""Bodies of the entitlement routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.kit.fields import INT32_MAX


class LimitOut(BaseModel):
    limit: int
    used: int
    remaining: int
    resets_at: datetime | None = None


class EntitlementsOut(BaseModel):
    plan: str
    features: dict[str, bool]
    limits: dict[str, LimitOut]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feature: str | None = Field(default=None, max_length=100)
    limit: str | None = Field(default=None, max_length=40, description="users, contacts or broadcasts_per_month")
    quantity: StrictInt = Field(default=1, le=INT32_MAX)


class CheckOut(BaseModel):
    allowed: bool
    reason: str | None = None
