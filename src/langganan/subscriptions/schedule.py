"""When a subscription's time-driven work falls due (DESIGN rules 3-5, 8, 14; issue 4). Pure: no DB.

A subscription's agenda lists what is due and when, derived from its own columns. The due runner
claims rows whose `next_due_at` (the earliest agenda item) has passed and works through the agenda
in time order. There are two kinds of item:

- a *state* item disappears because the step that handles it changes the state it is derived from
  (the period rolls, the status changes, a marker column is set);
- a *notice* item only emits an event, so the subscription's `due_cursor` remembers the last
  instant handled, and notices at or before it are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from langganan.subscriptions.models import SubscriptionStatus

# Same-instant items run in this order.
KINDS = ("trial_will_end", "promotion_ending", "renewal_invoice", "renewal_reminder", "allotment",
         "promotion_ended", "period_end", "card_retry", "grace_end")
NOTICES = frozenset({"trial_will_end", "promotion_ending", "renewal_reminder"})


@dataclass(frozen=True)
class Policy:
    """The lifecycle settings the agenda needs (their defaults are Settings' defaults)."""

    renewal_invoice_days: int
    renewal_reminder_days: tuple[int, ...]
    grace_days: int
    card_retry_days: tuple[int, ...]
    trial_notice_days: int
    promotion_notice_days: int

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    @property
    def card_attempts(self) -> int:
        """The charge at period end plus one per retry."""
        return 1 + len(self.card_retry_days)


@dataclass(frozen=True)
class Timeline:
    """The columns of one subscription that decide its agenda."""

    status: SubscriptionStatus
    paid: bool  # on a paid plan (not the catalog's default Free plan)
    period_end: datetime
    allotment_end: datetime | None
    trial_end: datetime | None
    auto_renew: bool  # auto-renew on with a saved card
    ends_at_period_end: bool  # a cancellation or a downgrade to Free is scheduled
    renewal_invoiced_for: datetime | None  # the period end whose renewal invoice the runner saw to
    renewal_attempts: int  # card charges started for the overdue renewal
    charging: bool  # a renewal charge is in flight: wait for its outcome
    promotion_ends_at: datetime | None
    cursor: datetime | None  # notices at or before this instant were handled


@dataclass(frozen=True, order=True)
class Due:
    at: datetime
    rank: int
    kind: str

    @property
    def notice(self) -> bool:
        return self.kind in NOTICES


def _due(at: datetime, kind: str) -> Due:
    return Due(at, KINDS.index(kind), kind)


def agenda(t: Timeline, p: Policy) -> list[Due]:
    """Everything still to do for this subscription, earliest first."""
    if t.charging:
        return []
    end = t.period_end
    items: list[Due] = []
    if t.allotment_end is not None and t.allotment_end < end and t.status != SubscriptionStatus.PAST_DUE:
        items.append(_due(t.allotment_end, "allotment"))  # a yearly plan's (or an extended trial's) month
    if t.status == SubscriptionStatus.TRIALING:
        if t.trial_end is not None:
            items.append(_due(t.trial_end - timedelta(days=p.trial_notice_days), "trial_will_end"))
        items.append(_due(end, "period_end"))
    elif t.status == SubscriptionStatus.PAST_DUE:
        if t.auto_renew and t.renewal_attempts < p.card_attempts:
            retry = p.card_retry_days[t.renewal_attempts - 1] if t.renewal_attempts else 0
            items.append(_due(end + timedelta(days=retry), "card_retry"))
        else:
            items.append(_due(end + timedelta(days=p.grace_days), "grace_end"))
    else:
        items.append(_due(end, "period_end"))
        if t.paid and not t.auto_renew and not t.ends_at_period_end:
            if t.renewal_invoiced_for != end:
                items.append(_due(end - timedelta(days=p.renewal_invoice_days), "renewal_invoice"))
            items.extend(_due(end - timedelta(days=d), "renewal_reminder") for d in p.renewal_reminder_days)
    if t.promotion_ends_at is not None:
        items.append(_due(t.promotion_ends_at - timedelta(days=p.promotion_notice_days), "promotion_ending"))
        items.append(_due(t.promotion_ends_at, "promotion_ended"))
    return sorted(d for d in items if not (d.notice and t.cursor is not None and d.at <= t.cursor))


@dataclass(frozen=True)
class PastDue:
    """What a past-due subscription's customer needs to know: when the card is tried again (None when no
    retry is left or no card renews it) and when the account moves to Free if nothing is paid."""

    next_retry: datetime | None
    drops_at: datetime


def past_due(t: Timeline, p: Policy) -> PastDue | None:
    if t.status != SubscriptionStatus.PAST_DUE:
        return None
    end = t.period_end
    if t.auto_renew and t.renewal_attempts < p.card_attempts:
        retry = p.card_retry_days[t.renewal_attempts - 1] if t.renewal_attempts else 0
        # The last attempt's decline moves the account to Free (subscriptions.service.renewal_charge_failed).
        last = p.card_retry_days[-1] if p.card_retry_days else 0
        return PastDue(next_retry=end + timedelta(days=retry), drops_at=end + timedelta(days=last))
    return PastDue(next_retry=None, drops_at=end + timedelta(days=p.grace_days))


def due_by(t: Timeline, p: Policy, now: datetime) -> list[Due]:
    return [d for d in agenda(t, p) if d.at <= now]


def next_due(t: Timeline, p: Policy) -> datetime | None:
    items = agenda(t, p)
    return items[0].at if items else None
