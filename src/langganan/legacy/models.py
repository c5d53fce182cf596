from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class LegacyImport(Base):
    """One legacy postpaid subscriber moved to prepaid, by its legacy account key: a re-run of the
    same row finds it and changes nothing; a different row for the same key is a conflict."""

    __tablename__ = "legacy_imports"

    account_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    row: Mapped[dict[str, Any]]  # the normalised row as imported
    waived_invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    imported_at: Mapped[datetime]
