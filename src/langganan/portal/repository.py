from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from langganan.events.models import Event
from langganan.invoices.models import Invoice
from langganan.kit.work import Work
from langganan.notifications.models import Notification
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


def feed_rows(session: Work, account_id: str, *, before: str | None, limit: int, leave_out: Collection[str] = (),
              unread_only: bool = False) -> list[tuple[Notification, dict[str, Any]]]:
    """The account's feed items, newest first (after `before`, a notification id), each with its event's data;
    items of the types in `leave_out` are not read."""
    stmt = (select(Notification, Event.data).join(Event, Event.id == Notification.event_id)
            .where(Notification.account_id == account_id))
    if leave_out:
        stmt = stmt.where(Notification.type.not_in(leave_out))
    if before:
        stmt = stmt.where(Notification.id < before)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return [(n, data or {}) for n, data in session.execute(stmt.order_by(Notification.id.desc()).limit(limit))]


def own_invoices(session: Work, account_id: str, ids: Collection[str]) -> dict[str, Invoice]:
    """The account's invoices with these ids (without their lines): what feed items name."""
    if not ids:
        return {}
    rows = session.scalars(select(Invoice).options(lazyload(Invoice.lines))
                           .where(Invoice.id.in_(ids), Invoice.account_id == account_id))
    return {inv.id: inv for inv in rows}
