"""Domain events: appended to the outbox in the caller's transaction, delivered after commit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from langganan.events.models import Event
from langganan.kit.bulk import insert_rows
from langganan.kit.ids import new_id

_BUFFER = "langganan.event_buffer"
EVENTS = cast(Table, Event.__table__)


def emit(session: Session, type_: str, account_id: str | None, data: dict[str, Any], now: datetime) -> str:
    """Append an event to the outbox in the caller's transaction; returns its id."""
    row = {"id": new_id("evt"), "type": type_, "account_id": account_id, "data": data, "created_at": now}
    buffer: list[dict[str, Any]] | None = session.info.get(_BUFFER)
    if buffer is not None:
        buffer.append(row)
    else:
        session.add(Event(**row))
    return str(row["id"])


# -- buffered events (the due runner's batches) ----------------------------------------------------
# A batch keeps its events in memory as plain rows and inserts them all at its end, in one statement,
# instead of one ORM object each. They are still written in the batch's transaction, before it commits.

def buffer(session: Session) -> None:
    session.info[_BUFFER] = []


def drop_buffer(session: Session) -> None:
    session.info.pop(_BUFFER, None)


def buffered_count(session: Session) -> int:
    return len(session.info.get(_BUFFER, ()))


def forget_buffered_after(session: Session, mark: int) -> None:
    """A savepoint rolled back: the events it emitted never happened."""
    del session.info.get(_BUFFER, [])[mark:]


def release_buffer(session: Session, replace: Mapping[str, str] | None = None) -> int:
    """Insert the buffered events, all in one statement (and stop buffering). `replace` maps
    placeholder values in the events' data (deferred invoice numbers) to their final values."""
    rows: list[dict[str, Any]] = session.info.pop(_BUFFER, None) or []
    if replace:
        for row in rows:
            data = row["data"]
            if any(isinstance(v, str) and v in replace for v in data.values()):
                row["data"] = {k: replace.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    insert_rows(session, EVENTS, rows)
    return len(rows)
