from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from langganan.addons.models import AddOnStatus, SubscriptionAddOn
from langganan.kit.errors import NotFound
from langganan.kit.work import Question, Work

LIVE = (AddOnStatus.ACTIVE, AddOnStatus.STOPPING)


WITHOUT_ADD_ONS: Question[str, bool] = Question("subscription with no live add-on")


def note_without_add_ons(session: Work, subscription_ids: Collection[str]) -> None:
    """Find, in one query, which of these subscriptions have no live add-on, so `live_items` answers
    [] for them without a query. Only for subscriptions this transaction holds locked: an add-on is
    activated under its subscription's lock, so none can appear meanwhile (`activate` forgets it)."""
    having = set(session.scalars(select(SubscriptionAddOn.subscription_id).distinct().where(
        SubscriptionAddOn.subscription_id.in_(list(subscription_ids)), SubscriptionAddOn.status.in_(LIVE))))
    session.read_ahead(WITHOUT_ADD_ONS).update(dict.fromkeys(set(subscription_ids) - having, True))


def may_have_add_ons(session: Work, subscription_id: str) -> None:
    (session.answers(WITHOUT_ADD_ONS) or {}).pop(subscription_id, None)


def live_items(session: Work, subscription_id: str, *, for_update: bool = False) -> list[SubscriptionAddOn]:
    if subscription_id in (session.answers(WITHOUT_ADD_ONS) or ()):
        return []
    stmt = select(SubscriptionAddOn).where(SubscriptionAddOn.subscription_id == subscription_id,
                                           SubscriptionAddOn.status.in_(LIVE)).order_by(SubscriptionAddOn.id)
    if for_update:
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt))


def item(session: Work, account_id: str, item_id: str) -> SubscriptionAddOn:
    found = session.get(SubscriptionAddOn, item_id, with_for_update=True)
    if found is None or found.account_id != account_id:
        raise NotFound("add_on_item", item_id)
    return found
