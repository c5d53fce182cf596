"""The in-app notifications feed: the account's customer-facing events, newest first.

Kept apart so the notifications issue can replace the source (its own feed table) in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from langganan.events.models import Event

CUSTOMER_EVENTS = (
    "invoice.created", "invoice.paid", "invoice.expired", "payment.failed", "subscription.upgraded",
    "subscription.downgrade_scheduled", "subscription.cancel_scheduled", "subscription.canceled",
    "subscription.renewed", "subscription.renewal_paid", "trial.will_end", "trial.ended", "promotion.ending",
    "promotion.ended", "wallet.topped_up", "wallet.low_balance", "wallet.depleted", "quota.threshold_reached",
    "add_on.activated", "add_on.stop_scheduled", "add_on.ended",
)


def recent(session: Session, account_id: str, limit: int = 30) -> list[dict[str, Any]]:
    rows = session.scalars(select(Event).where(Event.account_id == account_id, Event.type.in_(CUSTOMER_EVENTS))
                           .order_by(Event.id.desc()).limit(limit))
    return [{"type": e.type, "data": e.data, "at": e.created_at} for e in rows]
