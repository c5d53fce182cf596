from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class PortalLink(Base):
    """A one-account portal login link (POST /v1/accounts/{id}/portal-sessions). The random token is
    stored as its SHA-256 only; the link works once, before `expires_at` (wall time)."""

    __tablename__ = "portal_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # An emailed link (portal/email_links.py) opens the portal on this invoice; None: the Subscription page.
    invoice_id: Mapped[str | None] = mapped_column(String(40))
