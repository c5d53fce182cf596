from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from langganan.payments.schemas import InvoiceOut


class ChangeOut(BaseModel):
    kind: str
    invoice: InvoiceOut | None
    applies_at: datetime | None
