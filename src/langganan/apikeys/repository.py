from __future__ import annotations

from sqlalchemy import select

from langganan.apikeys.models import ApiKey
from langganan.kit.work import Work


def by_hash(session: Work, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
