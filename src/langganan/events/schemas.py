from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from langganan.events.models import Event


class EventOut(BaseModel):
    id: str
    type: str
    account_id: str | None
    data: dict[str, Any]
    created_at: datetime


class EventList(BaseModel):
    data: list[EventOut]
    has_more: bool


def event_out(e: Event) -> EventOut:
    return EventOut(id=e.id, type=e.type, account_id=e.account_id, data=e.data, created_at=e.created_at)
