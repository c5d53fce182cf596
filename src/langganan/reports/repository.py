from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, and_, func, select

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.work import Work
from langganan.subscriptions.models import PeriodKind, Subscription, SubscriptionPeriod
from langganan.wallets.models import EntryType, WalletEntry


def periods_at(session: Work, at: datetime) -> Sequence[Row[str, str, str, PeriodKind, int]]:
    """Every subscription's history row in effect at `at` (the latest that started at or before it):
    subscription id, plan, interval, kind, catalog version."""
    latest = (select(SubscriptionPeriod.subscription_id, func.max(SubscriptionPeriod.id).label("id"))
              .where(SubscriptionPeriod.starts_at <= at).group_by(SubscriptionPeriod.subscription_id).subquery())
    return session.execute(
        select(SubscriptionPeriod.subscription_id, SubscriptionPeriod.plan_code, SubscriptionPeriod.interval,
               SubscriptionPeriod.kind, Subscription.catalog_version_id)
        .join(latest, and_(latest.c.id == SubscriptionPeriod.id))
        .join(Subscription, Subscription.id == SubscriptionPeriod.subscription_id)).all()


def paid_credit_spent(session: Work, since: datetime, until: datetime) -> int:
    """Paid (not granted) credit spent on usage and holds, net of releases, in [since, until)."""
    spent = session.scalar(select(func.coalesce(func.sum(WalletEntry.amount - WalletEntry.granted_amount), 0))
                           .where(WalletEntry.type.in_((EntryType.USAGE, EntryType.HOLD, EntryType.RELEASE)),
                                  WalletEntry.created_at >= since, WalletEntry.created_at < until))
    return -int(spent or 0)


def invoices_paid(session: Work, type_: InvoiceType, since: datetime, until: datetime) -> int:
    """The totals of invoices of `type_` paid in [since, until)."""
    return int(session.scalar(select(func.coalesce(func.sum(Invoice.total), 0))
                              .where(Invoice.type == type_, Invoice.status == InvoiceStatus.PAID,
                                     Invoice.paid_at >= since, Invoice.paid_at < until)) or 0)


def credit_notes_issued(session: Work, since: datetime, until: datetime) -> int:
    """What credit notes issued in [since, until) gave back (their totals are negative)."""
    return -int(session.scalar(select(func.coalesce(func.sum(Invoice.total), 0))
                               .where(Invoice.type == InvoiceType.CREDIT_NOTE, Invoice.issued_at >= since,
                                      Invoice.issued_at < until)) or 0)
