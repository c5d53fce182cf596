from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from langganan.apikeys.models import ApiKey


def by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
