"""Tables of the shared plumbing: the engine clock, stored idempotent responses, generated secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class EngineClock(Base):
    __tablename__ = "engine_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    # When set, the engine clock stands still at this instant until advanced (tests, scripted demos).
    frozen_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class GeneratedSecret(Base):
    """A secret langganan generated for this database (kit/secrets.py), e.g. the sandbox gateway's signing
    secret when LANGGANAN_SANDBOX_GATEWAY_SECRET is not set."""

    __tablename__ = "generated_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
