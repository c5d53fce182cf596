from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from langganan.addons.models import SubscriptionAddOn
from langganan.kit.errors import NotFound

LIVE = ("active", "stopping")


def live_items(session: Session, subscription_id: str, *, for_update: bool = False) -> list[SubscriptionAddOn]:
    stmt = select(SubscriptionAddOn).where(SubscriptionAddOn.subscription_id == subscription_id,
                                           SubscriptionAddOn.status.in_(LIVE)).order_by(SubscriptionAddOn.id)
    if for_update:
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt))


def item(session: Session, account_id: str, item_id: str) -> SubscriptionAddOn:
    found = session.get(SubscriptionAddOn, item_id, with_for_update=True)
    if found is None or found.account_id != account_id:
        raise NotFound("add_on_item", item_id)
    return found
