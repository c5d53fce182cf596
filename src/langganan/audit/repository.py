from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Select, select

from langganan.audit.models import AuditEntry
from langganan.kit.work import Work


def _filtered(*, account_id: str | None, actor_id: str | None, action: str | None, since: datetime | None,
              until: datetime | None) -> Select[AuditEntry]:
    """`actor_id`: the actor's id, or its label as it was then (a staff email, a key's name)."""
    query = select(AuditEntry)
    if account_id:
        query = query.where(AuditEntry.account_id == account_id)
    if actor_id:
        query = query.where((AuditEntry.actor_id == actor_id) | (AuditEntry.actor_label == actor_id))
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query


def search(session: Work, *, account_id: str | None = None, actor_id: str | None = None, action: str | None = None,
           since: datetime | None = None, until: datetime | None = None, limit: int,
           starting_after: str | None = None) -> tuple[list[AuditEntry], bool]:
    """Newest first; `starting_after` is the id of the last entry of the previous page."""
    query = _filtered(account_id=account_id, actor_id=actor_id, action=action, since=since, until=until)
    if starting_after:
        last = session.get(AuditEntry, starting_after)
        if last is not None:
            query = query.where((AuditEntry.at < last.at) | ((AuditEntry.at == last.at) & (AuditEntry.id < last.id)))
    rows = list(session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def stream(session: Work, *, since: datetime | None, until: datetime | None) -> Iterator[AuditEntry]:
    """Oldest first, for an export of any size."""
    query = _filtered(account_id=None, actor_id=None, action=None, since=since, until=until)
    yield from session.scalars(query.order_by(AuditEntry.at, AuditEntry.id).execution_options(yield_per=500))
