from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class UsageEvent(Base):
    """An accepted usage event. Its id is the SaaS's own; a repeat of it is a duplicate (rule 7)."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_account", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    meter: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    body_hash: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
