"""Domain events: appended to the outbox in the caller's transaction, delivered after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from langganan.events.models import Event
from langganan.kit.ids import new_id


def emit(session: Session, type_: str, account_id: str | None, data: dict[str, Any], now: datetime) -> Event:
    event = Event(id=new_id("evt"), type=type_, account_id=account_id, data=data, created_at=now)
    session.add(event)
    return event
