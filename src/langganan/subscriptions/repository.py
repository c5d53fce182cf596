from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def due_period_ends(session: Session, now: datetime, limit: int) -> Sequence[Subscription]:
    """Subscriptions whose period has ended, oldest first; rows another worker holds are skipped."""
    return session.scalars(select(Subscription).where(Subscription.current_period_end <= now)
                           .order_by(Subscription.current_period_end).limit(limit)
                           .with_for_update(skip_locked=True)).all()


def due_allotments(session: Session, now: datetime, limit: int) -> Sequence[Subscription]:
    """Yearly subscriptions whose monthly allotment ended inside their period."""
    return session.scalars(select(Subscription).where(
        Subscription.allotment_end <= now, Subscription.allotment_end < Subscription.current_period_end)
        .order_by(Subscription.allotment_end).limit(limit).with_for_update(skip_locked=True)).all()
