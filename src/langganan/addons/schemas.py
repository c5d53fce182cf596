"""The add-ons a subscription holds, as the add-on endpoints and the subscription show them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.addons.models import AddOnStatus, SubscriptionAddOn
from langganan.addons.rules import MAX_QUANTITY
from langganan.kit.fields import Id


class ItemOut(BaseModel):
    id: str
    add_on: str
    quantity: int
    status: AddOnStatus = Field(description="active (renews with the subscription), stopping (ends at period end)")
    ends_at: datetime | None


class ItemList(BaseModel):
    data: list[ItemOut]
    has_more: bool = False


def item_out(it: SubscriptionAddOn) -> ItemOut:
    return ItemOut(id=it.id, add_on=it.add_on_code, quantity=it.quantity, status=it.status, ends_at=it.ends_at)


class BuyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add_on: str = Field(min_length=1, max_length=40)
    quantity: StrictInt = Field(ge=1, le=MAX_QUANTITY)
    payment_method: str = Field(default="bank_transfer", max_length=20)
    payment_method_id: Id | None = None
    bank: str | None = Field(default=None, max_length=20)
