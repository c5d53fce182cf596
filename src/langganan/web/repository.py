from __future__ import annotations

from sqlalchemy import select

from langganan.kit.work import Work
from langganan.web.models import WebSession


def session_by_token_hash(session: Work, token_hash: str) -> WebSession | None:
    return session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))
