from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from langganan.events.models import Event
from langganan.kit.errors import NotFound
from langganan.kit.pagination import page
from langganan.kit.work import Work
from langganan.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Notification, QuotaAlert
from langganan.payments.models import Payment


def claim_undispatched(session: Work, limit: int) -> Sequence[Event]:
    """Events not yet fanned out, oldest first; rows another worker holds are skipped."""
    return session.scalars(select(Event).where(Event.dispatched_at.is_(None)).order_by(Event.id).limit(limit)
                           .with_for_update(skip_locked=True)).all()


def claim_due_deliveries(session: Work, now: datetime, limit: int) -> Sequence[Delivery]:
    return session.scalars(select(Delivery).where(Delivery.status == DeliveryStatus.PENDING,
                                                  Delivery.next_attempt_at <= now)
                           .order_by(Delivery.next_attempt_at).limit(limit)
                           .with_for_update(skip_locked=True)).all()


def delivery(session: Work, delivery_id: str, *, for_update: bool = False) -> Delivery | None:
    return session.get(Delivery, delivery_id, with_for_update=for_update or None)


def deliveries_for_endpoint(session: Work, endpoint_id: str, limit: int,
                            starting_after: str | None) -> tuple[Sequence[Delivery], bool]:
    return page(session, select(Delivery).where(Delivery.endpoint_id == endpoint_id), Delivery.id, limit,
                starting_after)


def pending_for_endpoint(session: Work, endpoint_id: str) -> Sequence[Delivery]:
    return session.scalars(select(Delivery).where(Delivery.endpoint_id == endpoint_id,
                                                  Delivery.status == DeliveryStatus.PENDING).with_for_update()).all()


def attempts_for(session: Work, delivery_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
    out: dict[str, list[DeliveryAttempt]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        rows = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
                               .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number))
        for row in rows:
            out[row.delivery_id].append(row)
    return out


def feed(session: Work, account_id: str, *, unread: bool, limit: int,
         starting_after: str | None) -> tuple[Sequence[Notification], bool]:
    stmt = select(Notification).where(Notification.account_id == account_id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return page(session, stmt, Notification.id, limit, starting_after)


def mark_all_read(session: Work, account_id: str, now: datetime) -> int:
    result = session.execute(update(Notification).where(Notification.account_id == account_id,
                                                        Notification.read_at.is_(None)).values(read_at=now))
    return int(cast(CursorResult[Any], result).rowcount)


def unread_count(session: Work, account_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == account_id, Notification.read_at.is_(None))) or 0)


def notification(session: Work, account_id: str, notification_id: str, *,
                 for_update: bool = False) -> Notification:
    row = session.get(Notification, notification_id, with_for_update=for_update or None)
    if row is None or row.account_id != account_id:
        raise NotFound("notification", notification_id, param="notification_id")
    return row


def has_dedupe_key(session: Work, account_id: str, key: str) -> bool:
    return session.scalar(select(Notification.id).where(Notification.account_id == account_id,
                                                        Notification.dedupe_key == key).limit(1)) is not None


def quota_alerts(session: Work, account_id: str, quota: str) -> dict[int, QuotaAlert]:
    rows = session.scalars(select(QuotaAlert).where(QuotaAlert.account_id == account_id, QuotaAlert.quota == quota))
    return {row.level: row for row in rows}


def latest_virtual_account(session: Work, invoice_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.invoice_id == invoice_id, Payment.va_number.is_not(None))
                          .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(1))


def emails(session: Work, limit: int, starting_after: str | None) -> tuple[Sequence[Delivery], bool]:
    """Email deliveries, newest first (the sandbox's outbox viewer)."""
    q = select(Delivery).where(Delivery.channel == Channel.EMAIL)
    if starting_after:
        q = q.where(Delivery.id < starting_after)
    rows = session.scalars(q.order_by(Delivery.id.desc()).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def pending_by_channel(session: Work) -> list[tuple[str, int, datetime]]:
    """Per channel: how many deliveries are not yet sent (or wait for a retry), and the earliest one's
    creation (wall time)."""
    rows = session.execute(select(Delivery.channel, func.count(), func.min(Delivery.created_at))
                           .where(Delivery.status == DeliveryStatus.PENDING).group_by(Delivery.channel)
                           .order_by(Delivery.channel))
    return [(str(channel), int(count), earliest) for channel, count, earliest in rows]


def email_of(session: Work, event_id: str) -> Delivery | None:
    """The email the event's fan-out made (the first, when it was sent again since)."""
    return session.scalar(select(Delivery).where(Delivery.event_id == event_id, Delivery.channel == Channel.EMAIL)
                          .order_by(Delivery.id).limit(1))
