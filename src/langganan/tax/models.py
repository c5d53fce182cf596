from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class TaxInvoiceNumber(Base):
    """The number DJP's Coretax gave the tax invoice (faktur pajak) of one of our invoices, once it was uploaded
    and approved. Kept beside the invoice, which never changes once issued: a return, a cancellation or a replacement
    in Coretax names the original tax invoice by this number. A replacement tax invoice (status code 01) takes
    the place of the number it replaces, which is kept in `replaces`."""

    __tablename__ = "tax_invoice_numbers"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40))  # the invoice's
    number: Mapped[str] = mapped_column(String(17), unique=True)
    replaces: Mapped[str | None] = mapped_column(String(17))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(320))
