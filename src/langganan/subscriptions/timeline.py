"""Keeps each subscription's `next_due_at` equal to the earliest item of its agenda.

`keep_next_due(policy)` is a flush step of the database's units of work (`kit.work.Steps`, given by
`langganan.app.make_database` with the policy of the settings): every change to a subscription row,
wherever it happens (a request, the due runner, a payment callback), is recomputed when the unit of
work flushes it, so the due runner's index is never stale.
"""

from __future__ import annotations

from langganan.catalog import service as catalog_service
from langganan.kit.work import Step, Work
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.schedule import Policy, Timeline, next_due


def timeline(session: Work, sub: Subscription) -> Timeline:
    default_plan = catalog_service.get(session, sub.catalog_version_id).default_plan
    return Timeline(
        status=sub.status, paid=sub.plan_code != default_plan, period_end=sub.current_period_end,
        allotment_end=sub.allotment_end, trial_end=sub.trial_end,
        auto_renew=bool(sub.auto_renew and sub.payment_method_id),
        ends_at_period_end=bool(sub.cancel_at_period_end or sub.pending_plan == default_plan),
        renewal_invoiced_for=sub.renewal_invoiced_for, renewal_attempts=sub.renewal_attempts or 0,
        charging=sub.renewal_payment_id is not None, promotion_ends_at=sub.promotion_ends_at,
        cursor=sub.due_cursor)


def keep_next_due(policy: Policy) -> Step:
    """The flush step that sets `next_due_at` of every new or changed subscription by `policy`."""

    def step(work: Work) -> None:
        changed = [obj for obj in (*work.new, *work.dirty) if isinstance(obj, Subscription)]
        if not changed:
            return
        with work.no_autoflush:
            for sub in changed:
                due = next_due(timeline(work, sub), policy)
                if sub.next_due_at != due:
                    sub.next_due_at = due

    return step
