"""The in-app notifications feed shown in the portal: the account's `notifications` rows (written by
the outbox dispatcher, titled in the account's language), newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from langganan.notifications.models import Notification


def recent(session: Session, account_id: str, limit: int = 30) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.account_id == account_id)
                                .order_by(Notification.id.desc()).limit(limit)))
