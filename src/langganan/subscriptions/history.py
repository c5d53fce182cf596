"""The subscription's period history: one append-only row each time what it is on changes.

A row says: from `starts_at` on, the subscription was on this plan and interval, as this kind, and
this invoice is what explains it. Its end is the next row's start (the last row lasts until now).
`langganan verify` checks every row against the invoices and the subscription: paid time is covered
by a paid or waived invoice of that period, a trial or a migration; a grace period is explained by
the renewal invoice whose payment window it was; free time an operator gave (`comp`) by the audit entry
that records it (COMP_ACTION); rows never start before an earlier row.
"""

from __future__ import annotations

from datetime import datetime

from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.subscriptions.models import PeriodKind, Subscription, SubscriptionPeriod

COMP_ACTION = "subscription.free_period_given"  # the audit log's action that explains a `comp` row


def record(session: Work, sub: Subscription, starts_at: datetime, kind: PeriodKind, now: datetime, *,
           invoice_id: str | None = None) -> None:
    """From `starts_at` on, `sub` is on its current plan and interval as `kind`."""
    session.add(SubscriptionPeriod(id=new_id("per"), subscription_id=sub.id, account_id=sub.account_id,
                                   starts_at=starts_at,
                                   plan_code=sub.plan_code, interval=sub.interval, kind=kind,
                                   invoice_id=invoice_id, recorded_at=now))
