from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class SessionKind(StrEnum):
    PORTAL = "portal"  # one account
    CONSOLE = "console"  # one staff user


class WebSession(Base):
    """A browser session (portal: one account; console: one staff user). Only the token's SHA-256 is
    stored; expiry is wall time (rule 14). `csrf_token` is the per-session secret every form echoes."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[SessionKind] = mapped_column(text_column(SessionKind, 10))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    staff_user_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
