"""Cursor pagination per API.md: newest first, `?limit=` 1–100, `?starting_after=<id>`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session


def page(session: Session, stmt: Select[Any], id_col: InstrumentedAttribute[str], limit: int,
         starting_after: str | None) -> tuple[Sequence[Any], bool]:
    if starting_after:
        stmt = stmt.where(id_col < starting_after)
    rows = session.scalars(stmt.order_by(id_col.desc()).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit
