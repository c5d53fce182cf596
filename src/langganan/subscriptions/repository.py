from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from langganan.kit.db import held
from langganan.kit.errors import NotFound
from langganan.subscriptions.models import Subscription


def for_account(session: Session, account_id: str, *, for_update: bool = False) -> Subscription:
    stmt = select(Subscription).where(Subscription.account_id == account_id)
    if for_update:
        stmt = stmt.with_for_update()
    sub = session.scalar(stmt)
    if sub is None:
        raise NotFound("subscription", account_id)
    return sub


def get_locked(session: Session, subscription_id: str) -> Subscription | None:
    """The subscription, locked (no query when this transaction already holds it)."""
    own = held(session, Subscription, subscription_id)
    if own is not None:
        return cast(Subscription, own)
    return session.get(Subscription, subscription_id, with_for_update=True)


def due(session: Session, now: datetime, limit: int, skip: Collection[str] = ()) -> Sequence[Subscription]:
    """Subscriptions with agenda items due, earliest first; rows another worker holds are skipped."""
    stmt = select(Subscription).where(Subscription.next_due_at <= now)
    if skip:
        stmt = stmt.where(Subscription.id.not_in(list(skip)))
    return session.scalars(stmt.order_by(Subscription.next_due_at).limit(limit)
                           .with_for_update(skip_locked=True)).all()


def stale_charges(session: Session, claimed_before: datetime, limit: int) -> Sequence[Subscription]:
    """Renewal charges in flight whose claim (wall time) is older than `claimed_before`."""
    return session.scalars(select(Subscription).where(
        Subscription.renewal_payment_id.is_not(None), Subscription.charge_claimed_at <= claimed_before)
        .limit(limit).with_for_update(skip_locked=True)).all()
