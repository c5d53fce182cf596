from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class Role(StrEnum):
    ADMIN = "admin"  # every route
    INTEGRATION = "integration"  # the routes the SaaS calls


class ApiKey(Base):
    """An API key: only the SHA-256 hash of its token is kept (rule 15). It works until it is revoked or,
    once rotated, until `expires_at` (wall time, rule 14)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(text_column(Role, 20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]  # wall time, written at most once a minute per key
    expires_at: Mapped[datetime | None]  # a rotated key's end of overlap
    replaced_by: Mapped[str | None] = mapped_column(String(40))  # the key its rotation made
