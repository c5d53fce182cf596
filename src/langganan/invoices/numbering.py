"""Gapless invoice numbers (DESIGN rule 12): one sequence per calendar month in the seller's zone.

The counter row is incremented in the same transaction as the invoice insert, so a rolled-back
invoice rolls its number back too, and concurrent issuers queue on the row.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from langganan.invoices.models import InvoiceSequence


def format_number(month_key: str, value: int) -> str:
    return f"INV/{month_key}/{value:05d}"


def month_key(issued_at: datetime, seller_tz: str) -> str:
    local = issued_at.astimezone(ZoneInfo(seller_tz))
    return f"{local.year:04d}/{local.month:02d}"


def next_number(session: Session, issued_at: datetime, seller_tz: str) -> str:
    key = month_key(issued_at, seller_tz)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = InvoiceSequence.__table__
    assert isinstance(table, Table)
    stmt = insert(table).values(month=key, last_value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.month],
                                      set_={"last_value": table.c.last_value + 1})
    value = session.execute(stmt.returning(table.c.last_value)).scalar_one()
    return format_number(key, value)
