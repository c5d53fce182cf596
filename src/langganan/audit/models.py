from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class ActorKind(StrEnum):
    STAFF = "staff"  # a console user (actor_id: staff user id)
    API_KEY = "api_key"  # an API call (actor_id: key id)
    SYSTEM = "system"  # the CLI or the worker acting for an operator


class AuditEntry(Base):
    """One operator action or one API call that changed money or plans: who, what, when, why, and the
    target's state before and after (append-only, never updated)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_at", "at"),
                      Index("ix_audit_entries_account", "account_id", "at"),
                      Index("ix_audit_entries_actor", "actor_id", "at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime]
    actor_kind: Mapped[ActorKind] = mapped_column(text_column(ActorKind, 20))
    actor_id: Mapped[str] = mapped_column(String(40))
    actor_label: Mapped[str] = mapped_column(String(320))  # the staff email or the key's name, as it was then
    action: Mapped[str] = mapped_column(String(80))  # e.g. "subscription.trial_extended"
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(500))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
