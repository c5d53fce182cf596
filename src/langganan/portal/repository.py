from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from langganan.kit.work import Work
from langganan.portal.models import PortalLink
from langganan.wallets.models import Reservation


def link_by_token_hash(session: Work, token_hash: str) -> PortalLink | None:
    """The sign-in link with this token hash, locked."""
    return session.scalar(select(PortalLink).where(PortalLink.token_hash == token_hash).with_for_update())


def reservations(session: Work, ids: Collection[str]) -> dict[str, Reservation]:
    """The broadcast reservations with these ids (what capture and release entries of a wallet refer to)."""
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Reservation).where(Reservation.id.in_(ids)))}
