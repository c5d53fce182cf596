"""Domain events: written to the outbox table in the caller's transaction, delivered after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table

from langganan.events.models import Event
from langganan.kit.ids import new_id
from langganan.kit.work import Work

EVENTS = cast(Table, Event.__table__)


def emit(session: Work, type_: str, account_id: str | None, data: dict[str, Any], now: datetime) -> str:
    """Append an event to the unit of work's outbox; it is inserted with the others in one statement
    just before the transaction commits (`kit.work.Work`), and a savepoint that rolls back takes it
    back. Returns its id."""
    row = {"id": new_id("evt"), "type": type_, "account_id": account_id, "data": data, "created_at": now}
    session.outbox.add(EVENTS, row)
    return str(row["id"])
