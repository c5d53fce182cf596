from __future__ import annotations

from sqlalchemy import select

from langganan.kit.work import Work
from langganan.portal.models import PortalLink


def link_by_token_hash(session: Work, token_hash: str) -> PortalLink | None:
    """The sign-in link with this token hash, locked."""
    return session.scalar(select(PortalLink).where(PortalLink.token_hash == token_hash).with_for_update())
