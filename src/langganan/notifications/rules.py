"""Pure rules of notification delivery and usage alerts: plain values in, decisions out, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

QUOTA_LEVELS = (80, 100)  # percent of a quota that raise quota.threshold_reached


# --- delivery -------------------------------------------------------------------------------------

def backoff(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Wait after the `attempts`-th failed attempt: base, 2×base, 4×base, ... capped."""
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** (attempts - 1)))


def next_attempt_at(attempts: int, max_attempts: int, now: datetime, base_seconds: float,
                    cap_seconds: float) -> datetime | None:
    """When to try again after a failed attempt, or None when the attempts are used up."""
    if attempts >= max_attempts:
        return None
    return now + backoff(attempts, base_seconds, cap_seconds)


def subscribes(endpoint_events: Iterable[str], event_type: str) -> bool:
    """An endpoint receives an event it names, or every event when it names "*"."""
    return any(name == "*" or name == event_type for name in endpoint_events)


# --- emails ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmailKind:
    """What an emailed event carries besides its text."""

    copy_owner: bool = False  # the account owner in Cc (invoices, receipts, dunning)
    link: str | None = None  # "invoice": a pay (or view) link to the event's invoice; "portal": the Subscription page
    attach_invoice: bool = False  # the PDF of the event's invoice


PLAIN = EmailKind()
# How long an emailed sign-in link works (wall time, rule 14); it works once (portal/email_links.py).
LINK_LIFETIME = timedelta(days=7)
# Invoices and receipts, and dunning (a payment failed or a renewal is unpaid, the account moved to Free): the
# billing contact gets them and the owner a copy, because money or the plan is at stake. Everything else
# (trial and promotion notices, usage alerts, cards expiring, migration) goes to the billing contact only.
EMAIL_KINDS: dict[str, EmailKind] = {
    "invoice.created": EmailKind(copy_owner=True, link="invoice", attach_invoice=True),
    "invoice.paid": EmailKind(copy_owner=True, link="invoice", attach_invoice=True),
    "credit_note.issued": EmailKind(copy_owner=True, attach_invoice=True),
    "payment.reversed": EmailKind(copy_owner=True),
    "invoice.expired": EmailKind(copy_owner=True),
    "payment.failed": EmailKind(copy_owner=True, link="invoice"),
    "subscription.renewal_reminder": EmailKind(copy_owner=True, link="invoice"),
    "subscription.past_due": EmailKind(copy_owner=True, link="invoice"),
    "subscription.downgraded": EmailKind(copy_owner=True, link="portal"),
}


def email_kind(event_type: str) -> EmailKind:
    return EMAIL_KINDS.get(event_type, PLAIN)


def recipients(owner: str | None, billing: str | None, *, copy_owner: bool) -> tuple[str | None, str | None]:
    """(To, Cc): the billing contact (the owner when the account has none), and the owner in Cc when
    `copy_owner` and the owner is another address (compared without case): never one address twice."""
    to = (billing or "").strip() or (owner or "").strip() or None
    cc = (owner or "").strip() or None
    if not copy_owner or to is None or cc is None or cc.lower() == to.lower():
        cc = None
    return to, cc


# The data fields that make two events the same reminder: the same notice about the same invoice,
# trial, promotion or card, for the same date, is told once (a second event with these values gets no feed
# item and no email). Events not listed are never merged.
DEDUPE_FIELDS: dict[str, tuple[str, ...]] = {
    "subscription.renewal_reminder": ("invoice_id", "days_left"),
    "subscription.past_due": ("subscription_id", "invoice_id"),
    "trial.will_end": ("subscription_id", "trial_end"),
    "promotion.ending": ("redemption_id", "ends_at"),
    "payment_method.expiring": ("payment_method_id", "expires_at"),
}


def dedupe_key(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The key two identical reminders share, or None for an event that is never merged. A move to Free is
    told once per subscription and period it left."""
    if event_type == "subscription.downgraded":
        previous = data.get("previous")
        if not isinstance(previous, Mapping) or data.get("reason") == "scheduled":
            return None
        values: tuple[Any, ...] = (data.get("subscription_id"), previous.get("current_period_end"))
    elif event_type in DEDUPE_FIELDS:
        values = tuple(data.get(name) for name in DEDUPE_FIELDS[event_type])
    else:
        return None
    if any(v is None or v == "" for v in values):
        return None
    return ":".join((event_type, *map(str, values)))[:200]


# --- usage alerts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WalletAlerts:
    fire: tuple[str, ...]  # event types to emit: wallet.low_balance, wallet.depleted
    low_alerted: bool
    depleted_alerted: bool


def wallet_alerts(before: int, after: int, threshold: int, *, low_alerted: bool,
                  depleted_alerted: bool) -> WalletAlerts:
    """Low balance and depleted alerts for a balance that moved from `before` to `after`.

    An alert fires when the balance goes down into its zone (at or below the threshold; 0 for
    depleted) and has not fired since the balance was last above it; the balance rising above the
    threshold re-arms it. Depleted implies low: when both would fire, only depleted is sent.
    A threshold of 0 turns low-balance alerts off (depleted still fires).
    """
    if after > threshold:
        low_alerted = False
    if after > 0:
        depleted_alerted = False
    fire: list[str] = []
    if after < before:
        if after <= 0 and not depleted_alerted:
            fire.append("wallet.depleted")
            depleted_alerted = low_alerted = True
        elif threshold > 0 and after <= threshold and not low_alerted:
            fire.append("wallet.low_balance")
            low_alerted = True
    return WalletAlerts(tuple(fire), low_alerted, depleted_alerted)


def _reached(used: int, limit: int, level: int) -> bool:
    return used * 100 >= level * limit


def quota_crossings(before: int, after: int, limit: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The levels `used` crossed going up (before < level ≤ after) and going down. No limit, no levels."""
    if limit <= 0 or before == after:
        return (), ()
    up = tuple(lvl for lvl in QUOTA_LEVELS if not _reached(before, limit, lvl) and _reached(after, limit, lvl))
    down = tuple(lvl for lvl in QUOTA_LEVELS if _reached(before, limit, lvl) and not _reached(after, limit, lvl))
    return up, down


@dataclass(frozen=True)
class QuotaAlerts:
    fire: tuple[int, ...]  # levels to announce
    mark: tuple[int, ...]  # levels to record as announced in this period
    rearm: tuple[int, ...]  # levels whose announced state is cleared


def quota_alerts(before: int, after: int, limit: int, alerted: Iterable[int]) -> QuotaAlerts:
    """80% / 100% alerts for a quota whose use moved from `before` to `after`.

    `alerted` holds the levels already announced in the current period. A level fires when use
    crosses it going up and it was not announced in this period; crossing back down re-arms it.
    When one change crosses both levels only the highest is announced (both count as announced).
    """
    up, down = quota_crossings(before, after, limit)
    done = set(alerted)
    fresh = tuple(lvl for lvl in up if lvl not in done)
    return QuotaAlerts(fire=fresh[-1:], mark=fresh, rearm=tuple(lvl for lvl in down if lvl in done))
