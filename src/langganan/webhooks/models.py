from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class WebhookEndpoint(Base):
    """A URL that receives the events it subscribes to, signed with its own Standard Webhooks secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]]  # event type names, or ["*"] for every event
    secret: Mapped[str] = mapped_column(String(100))  # whsec_ + base64 of 32 random bytes
    description: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[EndpointStatus] = mapped_column(text_column(EndpointStatus, 20))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
