"""The add-ons a subscription holds, as the add-on endpoints and the subscription show them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from langganan.addons.models import AddOnStatus, SubscriptionAddOn


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
