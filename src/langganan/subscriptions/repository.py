from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import and_, func, or_, select

from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.errors import NotFound
from langganan.kit.work import Work
from langganan.subscriptions.models import Subscription, SubscriptionPeriod


def for_account(session: Work, account_id: str, *, for_update: bool = False) -> Subscription:
    stmt = select(Subscription).where(Subscription.account_id == account_id)
    if for_update:
        stmt = stmt.with_for_update()
    sub = session.scalar(stmt)
    if sub is None:
        raise NotFound("subscription", account_id)
    return sub


def get_locked(session: Work, subscription_id: str) -> Subscription | None:
    """The subscription, locked (no query when this transaction already holds it)."""
    own = session.held(Subscription, subscription_id)
    if own is not None:
        return cast(Subscription, own)
    return session.get(Subscription, subscription_id, with_for_update=True)


def due(session: Work, now: datetime, limit: int, skip: Collection[str] = ()) -> Sequence[Subscription]:
    """Subscriptions with agenda items due, earliest first; rows another worker holds are skipped."""
    stmt = select(Subscription).where(Subscription.next_due_at <= now)
    if skip:
        stmt = stmt.where(Subscription.id.not_in(list(skip)))
    return session.scalars(stmt.order_by(Subscription.next_due_at).limit(limit)
                           .with_for_update(skip_locked=True)).all()


def due_backlog(session: Work, now: datetime) -> tuple[int, datetime | None]:
    """How many subscriptions have agenda items due by `now`, and the earliest `next_due_at` among them
    (the metrics' due-work lag)."""
    count, earliest = session.execute(select(func.count(), func.min(Subscription.next_due_at))
                                      .where(Subscription.next_due_at <= now)).one()
    return int(count), earliest


def stale_charges(session: Work, claimed_before: datetime, limit: int) -> Sequence[Subscription]:
    """Renewal charges in flight whose claim (wall time) is older than `claimed_before`."""
    return session.scalars(select(Subscription).where(
        Subscription.renewal_payment_id.is_not(None), Subscription.charge_claimed_at <= claimed_before)
        .limit(limit).with_for_update(skip_locked=True)).all()


# -- invoice expiry, in time order with each subscription's agenda ------------------------------------
# An unpaid invoice expires at its own instant (`expires_at`). When it belongs to a subscription whose
# agenda has not caught up to that instant (a stopped worker, a long clock advance), the subscription's
# own due run expires it in turn with its other steps (lifecycle.process); the general sweep takes only
# the invoices no agenda step can come before: those without a subscription, and those whose
# subscription's next item is not earlier, with no renewal charge in flight.

def invoices_to_expire(session: Work, now: datetime, limit: int) -> Sequence[Invoice]:
    caught_up = and_(Subscription.renewal_payment_id.is_(None),
                     or_(Subscription.next_due_at.is_(None), Subscription.next_due_at >= Invoice.expires_at))
    return session.scalars(
        select(Invoice).outerjoin(Subscription, Subscription.id == Invoice.subscription_id)
        .where(Invoice.status == InvoiceStatus.UNPAID, Invoice.expires_at <= now,
               or_(Invoice.subscription_id.is_(None), caught_up))
        .order_by(Invoice.expires_at).limit(limit).with_for_update(skip_locked=True, of=Invoice)).all()


def invoices_expiring_for(session: Work, subscription_ids: Collection[str],
                          now: datetime) -> dict[str, list[Invoice]]:
    """The unpaid invoices of these (locked) subscriptions that expire by `now`, earliest first."""
    if not subscription_ids:
        return {}
    found = session.scalars(select(Invoice).where(
        Invoice.subscription_id.in_(list(subscription_ids)), Invoice.status == InvoiceStatus.UNPAID,
        Invoice.expires_at <= now)
        .order_by(Invoice.expires_at, Invoice.id).with_for_update()).all()
    out: dict[str, list[Invoice]] = {}
    for inv in found:
        assert inv.subscription_id is not None
        out.setdefault(inv.subscription_id, []).append(inv)
    return out


def lock_many(session: Work, subscription_ids: Sequence[str]) -> Sequence[Subscription]:
    """These subscriptions, locked in id order."""
    return session.scalars(select(Subscription).where(Subscription.id.in_(subscription_ids))
                           .order_by(Subscription.id).with_for_update()).all()


def for_accounts(session: Work, account_ids: Collection[str]) -> Sequence[Subscription]:
    return session.scalars(select(Subscription).where(Subscription.account_id.in_(account_ids))).all()


def last_period(session: Work, subscription_id: str) -> SubscriptionPeriod | None:
    """The newest row of the subscription's period history (what it is on now)."""
    return session.scalar(select(SubscriptionPeriod).where(SubscriptionPeriod.subscription_id == subscription_id)
                          .order_by(SubscriptionPeriod.id.desc()).limit(1))
