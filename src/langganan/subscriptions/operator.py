"""What an operator does to a subscription beyond what a customer can (the console's account actions):
cancel at period end once, undo that cancel, change the plan at the period end, give free time.

Each is one step of the caller's unit of work, checks where it starts (a clear error and nothing changed
otherwise) and emits the event webhooks see. Extending a trial is `service.extend_trial` (also an API
route); a change now is `service.change`, the customer's own path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from langganan.accounts.models import Account
from langganan.addons import repository as addons_repo
from langganan.addons.models import AddOnStatus
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Plan
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices.models import Invoice
from langganan.kit.errors import Conflict
from langganan.kit.periods import anchor_day_of, wall_time_of
from langganan.kit.work import Work
from langganan.subscriptions import history, repository, service
from langganan.subscriptions.models import PeriodKind, Subscription, SubscriptionStatus
from langganan.subscriptions.rules import CurrentTerm, classify, free_period_end


@dataclass(frozen=True)
class Change:
    """What a plan change did: `invoice` issued now (switches when paid), or scheduled at `applies_at`."""

    kind: str  # purchase | upgrade | downgrade
    plan: str
    interval: str
    applies_at: datetime | None
    invoice: Invoice | None


def schedule_cancel(session: Work, account: Account, now: datetime) -> Subscription:
    """Back to Free at period end (the API's cancel), refused when that is already scheduled."""
    sub = repository.for_account(session, account.id, for_update=True)
    if sub.cancel_at_period_end:
        raise Conflict("cancel_already_scheduled", "A cancel at period end is already scheduled.")
    return service.cancel(session, account, True, now)


def undo_cancel(session: Work, account: Account, now: datetime) -> Subscription:
    """The scheduled cancel is withdrawn: the subscription renews at period end as before it."""
    sub = repository.for_account(session, account.id, for_update=True)
    if not sub.cancel_at_period_end:
        raise Conflict("no_cancel_scheduled", "No cancel is scheduled; there is nothing to undo.")
    sub.cancel_at_period_end = False
    sub.updated_at = now
    events.emit(session, "subscription.cancel_undone", account.id, service._snapshot(sub), now)
    return sub


def change_now(session: Work, settings: Settings, account: Account, plan_code: str, interval: str | None,
               now: datetime) -> Change:
    """The customer's own change (rule 2): a purchase or an upgrade is invoiced now, prorated, and switches
    when paid; a downgrade (and year → month) is scheduled at period end."""
    quote, invoice = service.change(session, settings, account, plan_code, interval, now)
    return Change(quote.kind, quote.plan.code, quote.interval, quote.applies_at, invoice)


def period_end_target(session: Work, sub: Subscription, plan_code: str,
                      interval: str | None) -> tuple[Plan, str, CurrentTerm, str]:
    """The plan, interval, current term and kind (upgrade or downgrade) of a change asked for at period end,
    or the refusal: the same plan, a purchase from Free or the trial (it starts when paid), an overdue renewal."""
    plan, interval_ = service._target(session, plan_code, interval, sub)
    term = service.current_term(session, sub)
    kind = classify(term, plan, interval_)  # same_plan when nothing would change
    if kind == "purchase":
        raise Conflict("purchase_starts_now", "A plan bought from Free or during the trial starts when its invoice "
                       "is paid; change it now instead.", param="when")
    if kind != "downgrade":
        service.refuse_overdue(session, sub)
    return plan, interval_, term, kind


def change_at_period_end(session: Work, settings: Settings, account: Account, plan_code: str,
                         interval: str | None, now: datetime) -> Change:
    """A change that waits for the end of what is paid for. A downgrade is the customer's own (limits
    checked, rule 9); an upgrade of a paid plan (or month → year) becomes the pending change the next
    renewal is priced on, nothing invoiced now. A plan bought from Free or a trial starts when it is paid
    (rule 2), so it cannot wait."""
    sub = repository.for_account(session, account.id, for_update=True)
    plan, interval, term, kind = period_end_target(session, sub, plan_code, interval)
    if kind == "downgrade":
        return change_now(session, settings, account, plan_code, interval, now)
    service._cancel_open_purchases(session, sub, now)  # rule 3: at most one pending change
    service._void_open_renewal(session, sub, now)  # it priced the current plan
    sub.pending_plan, sub.pending_interval = plan.code, interval
    sub.cancel_at_period_end = False
    sub.updated_at = now
    events.emit(session, "subscription.change_scheduled", account.id,
                {**service._snapshot(sub), "pending_plan": plan.code, "pending_interval": interval,
                 "applies_at": term.changes_at.isoformat()}, now)
    return Change(kind, plan.code, interval, term.changes_at, None)


def give_free_period(session: Work, account: Account, days: int | None, now: datetime) -> Subscription:
    """A "comp": the current paid period lasts `days` more calendar days, or (None) one billing period
    more, with no invoice. The renewal comes at the new end (an unpaid renewal or upgrade invoice priced
    the shorter period and is canceled); after free days the next periods start on the new end's day of
    the month. The history records the rest of the period as `comp`."""
    sub = repository.for_account(session, account.id, for_update=True)
    if sub.status == SubscriptionStatus.TRIALING:
        raise Conflict("trialing", "The subscription is in its trial: extend the trial instead.")
    if sub.plan_code == catalog_service.get(session, sub.catalog_version_id).default_plan:
        raise Conflict("paid_plan_required", "Free time is given on a paid plan; the account is on Free.")
    if sub.status == SubscriptionStatus.PAST_DUE:
        raise Conflict("renewal_overdue", "The period ended and its renewal is unpaid; there is no period to "
                       "lengthen.")
    if sub.renewal_payment_id is not None:
        raise Conflict("renewal_in_progress", "The renewal is being charged right now; try again in a minute.")
    if service.paid_through(session, sub) is not None:
        raise Conflict("renewal_paid_ahead", "The next period is already paid for; give free time once it has "
                       "started.")
    tz = account.timezone
    old_end = sub.current_period_end
    new_end = free_period_end(old_end, days, sub.interval, sub.anchor_day, tz, sub.anchor_time)
    last = repository.last_period(session, sub.id)
    service._cancel_open_purchases(session, sub, now)
    service._void_open_renewal(session, sub, now)
    sub.current_period_end = new_end
    if days is not None:  # rule 1: the anchor is the day periods start on, now the new end's
        sub.anchor_day, sub.anchor_time = anchor_day_of(new_end, tz), wall_time_of(new_end, tz)
    for item in addons_repo.live_items(session, sub.id, for_update=True):
        if item.status == AddOnStatus.STOPPING:  # it still ends with the period
            item.ends_at, item.updated_at = new_end, now
    sub.updated_at = now
    history.record(session, sub, now, PeriodKind.COMP, now, invoice_id=last.invoice_id if last else None)
    events.emit(session, "subscription.free_period_given", account.id,
                {**service._snapshot(sub), "previous_period_end": old_end.isoformat(), "days": days}, now)
    return sub
