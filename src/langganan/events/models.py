from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class Event(Base):
    """The outbox: written in the same transaction as the change; delivered after commit."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_account", "account_id", "id"), Index("ix_events_type", "type", "id"),
                      # the dispatcher's queue: only what is still to be dispatched, in id order
                      Index("ix_events_undispatched", "id", sqlite_where=text("dispatched_at IS NULL"),
                            postgresql_where=text("dispatched_at IS NULL")))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
