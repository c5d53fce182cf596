from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from langganan.apikeys.models import ApiKey
from langganan.kit.errors import NotFound
from langganan.kit.work import Work


def by_hash(session: Work, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def by_hashes(session: Work, key_hashes: set[str]) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.key_hash.in_(sorted(key_hashes))))) if key_hashes else []


def get(session: Work, key_id: str, *, for_update: bool = False) -> ApiKey:
    key = session.get(ApiKey, key_id, with_for_update=for_update)
    if key is None:
        raise NotFound("api_key", key_id, param="id")
    return key


def touch(session: Work, key_id: str, now: datetime, older_than: datetime) -> None:
    """last_used_at = now, only when it is older than `older_than` (so concurrent requests write it once)."""
    session.execute(update(ApiKey).where(ApiKey.id == key_id, (ApiKey.last_used_at.is_(None))
                                         | (ApiKey.last_used_at <= older_than))
                    .values(last_used_at=now).execution_options(synchronize_session=False))


def list_keys(session: Work, limit: int, starting_after: str | None) -> tuple[list[ApiKey], bool]:
    """Newest first (ids are time-ordered)."""
    query = select(ApiKey).order_by(ApiKey.id.desc())
    if starting_after:
        query = query.where(ApiKey.id < starting_after)
    rows = list(session.scalars(query.limit(limit + 1)))
    return rows[:limit], len(rows) > limit
