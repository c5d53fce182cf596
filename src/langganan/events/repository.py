from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from langganan.events.models import Event
from langganan.kit.pagination import page
from langganan.kit.work import Work


def list_events(session: Work, *, account_id: str | None, type_: str | None, limit: int,
                starting_after: str | None) -> tuple[Sequence[Event], bool]:
    stmt = select(Event)
    if account_id:
        stmt = stmt.where(Event.account_id == account_id)
    if type_:
        stmt = stmt.where(Event.type == type_)
    return page(session, stmt, Event.id, limit, starting_after)



def undispatched(session: Work) -> tuple[int, datetime | None]:
    """How many events wait to be fanned out (the outbox backlog), and the earliest one's time."""
    count, earliest = session.execute(select(func.count(), func.min(Event.created_at))
                                      .where(Event.dispatched_at.is_(None))).one()
    return int(count), earliest


def about_invoice(session: Work, account_id: str, type_: str, invoice_id: str) -> Event | None:
    """The account's first event of `type_` whose data names `invoice_id` (e.g. its invoice.created)."""
    return session.scalar(select(Event).where(Event.account_id == account_id, Event.type == type_,
                                              Event.data["invoice_id"].as_string() == invoice_id)
                          .order_by(Event.id).limit(1))
