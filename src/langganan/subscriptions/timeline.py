"""Keeps each subscription's `next_due_at` equal to the earliest item of its agenda.

Every change to a subscription row, wherever it happens (a request, the due runner, a payment
callback), is recomputed on flush, so the due runner's index is never stale. The schedule policy
(lead times, grace, retries) comes from the session's `info`, set from Settings by
`configure_sessions`; sessions of an unconfigured Database use the defaults.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from langganan.catalog import service as catalog_service
from langganan.config import Settings
from langganan.kit.db import Database
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.schedule import Policy, Timeline, next_due

DEFAULT_POLICY = Policy.from_settings(Settings())


def configure_sessions(db: Database, settings: Settings) -> None:
    db.configure_sessions(info={"policy": Policy.from_settings(settings)})


def policy_of(session: Session) -> Policy:
    policy = session.info.get("policy")
    return policy if isinstance(policy, Policy) else DEFAULT_POLICY


def timeline(session: Session, sub: Subscription) -> Timeline:
    default_plan = catalog_service.get(session, sub.catalog_version_id).default_plan
    return Timeline(
        status=sub.status, paid=sub.plan_code != default_plan, period_end=sub.current_period_end,
        allotment_end=sub.allotment_end, trial_end=sub.trial_end,
        auto_renew=bool(sub.auto_renew and sub.payment_method_id),
        ends_at_period_end=bool(sub.cancel_at_period_end or sub.pending_plan == default_plan),
        renewal_invoiced_for=sub.renewal_invoiced_for, renewal_attempts=sub.renewal_attempts or 0,
        charging=sub.renewal_payment_id is not None, promotion_ends_at=sub.promotion_ends_at,
        cursor=sub.due_cursor)


@event.listens_for(Session, "before_flush")
def _keep_next_due(session: Session, _flush_context: Any, _instances: Any) -> None:
    changed = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, Subscription)]
    if not changed:
        return
    policy = policy_of(session)
    with session.no_autoflush:
        for sub in changed:
            due = next_due(timeline(session, sub), policy)
            if sub.next_due_at != due:
                sub.next_due_at = due
