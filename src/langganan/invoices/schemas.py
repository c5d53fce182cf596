from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from langganan.kit.fields import Id


class LineOut(BaseModel):
    description: str
    kind: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_method: str = Field(max_length=20, description="card, bank_transfer or qris")
    payment_method_id: Id | None = None
    bank: str | None = Field(default=None, max_length=20,
                             description="bca, bni, bri, mandiri or permata (bank transfer)")


class MarkPaidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)
