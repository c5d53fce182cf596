"""Secrets langganan makes for itself: random, generated once per database and kept there, so every process
on that database (`serve`, `langganan worker`, the CLI) uses the same one. None has a default in the code."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.models import GeneratedSecret


def stored_secret(db: Database, name: str) -> str:
    """The database's secret called `name`, made on first use. Two processes starting at once agree: the
    second insert fails on the primary key and both read the row that won."""
    with db.sessions() as session:
        row = session.get(GeneratedSecret, name)
        if row is not None:
            return row.value
    try:
        with db.transaction() as session:
            session.add(GeneratedSecret(name=name, value=secrets.token_urlsafe(32), created_at=wall_now()))
    except IntegrityError:
        pass
    with db.sessions() as session:
        row = session.get(GeneratedSecret, name)
        assert row is not None
        return row.value
