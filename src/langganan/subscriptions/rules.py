"""Pure subscription rules (DESIGN rules 1-3): which kind a change is and what it costs.

No database, no clock: every function takes the values and `now` it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from langganan.catalog.rules import LIMIT_NAMES, Plan
from langganan.invoices.rules import Line
from langganan.kit.errors import Conflict, Unprocessable
from langganan.kit.money import prorate
from langganan.kit.periods import INTERVAL_MONTHS, add_months_anchored, days_in_period, remaining_days
from langganan.promotions.rules import Terms, plan_lines
from langganan.subscriptions.models import SubscriptionStatus

INTERVAL_LABEL = {"month": "monthly", "year": "yearly"}
MAX_TRIAL_EXTENSION_DAYS = 90  # an operator extends a trial by 1 to this many days at a time
MAX_FREE_DAYS = 365  # an operator gives at most this many free days at a time (or one billing period)


@dataclass(frozen=True)
class CurrentTerm:
    plan: Plan
    interval: str
    status: SubscriptionStatus
    period_start: datetime
    period_end: datetime
    anchor_day: int
    period_amount: int  # what was actually paid for the plan this period, after discount
    is_default_plan: bool
    anchor_time: time | None = None  # the local time of day periods start at (None: period_start's)
    paid_through: datetime | None = None  # the end of a renewal paid ahead, when there is one

    @property
    def changes_at(self) -> datetime:
        """When a scheduled change (a downgrade, a cancel) applies: at the end of what is paid for."""
        return self.paid_through or self.period_end


@dataclass(frozen=True)
class Quote:
    kind: str  # purchase | upgrade | downgrade | cancel
    plan: Plan
    interval: str
    applies_at: datetime | None  # None: when the invoice is paid
    lines: list[Line] = field(default_factory=list)
    period_start: datetime | None = None
    period_end: datetime | None = None
    new_period_amount: int = 0

    @property
    def amount_due(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def api_kind(self) -> str:
        return "upgrade" if self.kind in ("purchase", "upgrade") else "downgrade"


def plan_label(plan: Plan, interval: str) -> str:
    return f"{plan.name} ({INTERVAL_LABEL[interval]})"


def classify(cur: CurrentTerm, target: Plan, interval: str) -> str:
    """purchase (from Free or a trial), upgrade (now, prorated) or downgrade (at period end)."""
    if cur.is_default_plan or cur.status == SubscriptionStatus.TRIALING:
        if target.is_free:
            if cur.is_default_plan:
                raise Conflict("same_plan", f"The account is already on {target.name}.", param="plan")
            return "downgrade"
        return "purchase"
    if target.is_free:
        return "downgrade"
    if target.code == cur.plan.code and interval == cur.interval:
        raise Conflict("same_plan", f"The subscription is already on {plan_label(target, interval)}.",
                       param="plan")
    if cur.interval == "year" and interval == "month":
        return "downgrade"  # year -> month takes effect at period end (rule 2)
    if target.rank > cur.plan.rank:
        return "upgrade"
    if target.rank == cur.plan.rank and cur.interval == "month" and interval == "year":
        return "upgrade"  # month -> year is an upgrade
    return "downgrade"


def quote_change(cur: CurrentTerm, target: Plan, interval: str, now: datetime, tz: str,
                 promotion: Terms | None = None) -> Quote:
    """A purchase gets the account's promotion when the plan is eligible (rule 8); an upgrade
    does not (it removes the promotion), and its "unused time" credits what was actually paid."""
    kind = classify(cur, target, interval)
    if kind == "downgrade":
        return Quote(kind="downgrade", plan=target, interval=interval, applies_at=cur.changes_at)
    price = target.price(interval)
    if kind == "purchase":
        line = Line("plan", f"{plan_label(target, interval)} subscription", 1, price, price)
        lines, paid = plan_lines(line, promotion, target.code, now)
        return Quote(kind="purchase", plan=target, interval=interval, applies_at=None, lines=lines,
                     new_period_amount=paid)
    # Upgrade between paid plans: anchor kept, prorated by whole days in the account's zone.
    new_end = cur.period_end
    if interval != cur.interval:
        new_end = add_months_anchored(cur.period_start, 12, cur.anchor_day, tz, cur.anchor_time)
    old_total = days_in_period(cur.period_start, cur.period_end, tz)
    old_left = remaining_days(now, cur.period_start, cur.period_end, tz)
    new_total = days_in_period(cur.period_start, new_end, tz)
    new_left = remaining_days(now, cur.period_start, new_end, tz)
    remaining_new = prorate(price, new_left, new_total)
    unused = min(prorate(cur.period_amount, old_left, old_total), remaining_new)
    lines = [
        Line("proration_credit", f"Unused time on {plan_label(cur.plan, cur.interval)} "
             f"({old_left} of {old_total} days)", 1, -unused, -unused, now, cur.period_end),
        Line("proration_charge", f"Remaining time on {plan_label(target, interval)} "
             f"({new_left} of {new_total} days)", 1, remaining_new, remaining_new, now, new_end),
    ]
    return Quote(kind="upgrade", plan=target, interval=interval, applies_at=None, lines=lines,
                 period_start=cur.period_start, period_end=new_end, new_period_amount=price)


def exceeded_limits(limits: dict[str, int], usage: dict[str, int]) -> list[str]:
    """Names of limits the current usage does not fit (rule 9)."""
    return [name for name in LIMIT_NAMES if name in usage and usage[name] > limits.get(name, 0)]


def free_period_end(period_end: datetime, days: int | None, interval: str, anchor_day: int, tz: str,
                    anchor_time: time | None) -> datetime:
    """Where a paid period ends once an operator gives it free time: `days` calendar days later in the
    account's zone at the same local time of day, or (None) one billing period later on the anchor day."""
    if days is None:
        return add_months_anchored(period_end, INTERVAL_MONTHS[interval], anchor_day, tz, anchor_time)
    if not 1 <= days <= MAX_FREE_DAYS:
        raise Unprocessable("invalid_days", f"Free time is 1 to {MAX_FREE_DAYS} days.", param="days")
    return (period_end.astimezone(ZoneInfo(tz)) + timedelta(days=days)).astimezone(UTC)  # wall-clock arithmetic
