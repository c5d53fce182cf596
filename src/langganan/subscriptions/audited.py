"""What the audit log keeps of a subscription: the fields an operator's or an API call's change can move; an entry
stores those that changed, before and after (`audit.service.changes`), and what the caller adds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.kit.work import Work
from langganan.subscriptions import repository
from langganan.subscriptions.models import Subscription


def fields(sub: Subscription) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {"plan": sub.plan_code, "interval": sub.interval, "status": sub.status.value,
            "current_period_start": iso(sub.current_period_start),
            "current_period_end": iso(sub.current_period_end), "trial_end": iso(sub.trial_end),
            "cancel_at_period_end": sub.cancel_at_period_end, "pending_plan": sub.pending_plan,
            "pending_interval": sub.pending_interval, "auto_renew": sub.auto_renew,
            "payment_method_id": sub.payment_method_id, "anchor_day": sub.anchor_day}


@contextmanager
def recorded(session: Work, by: Actor, action: str, account_id: str, now: datetime, *,
             reason: str | None = None) -> Iterator[dict[str, Any]]:
    """Around a change of the account's subscription (locked first, as every change of it does): one audit entry
    with the fields that changed, plus what the caller puts in the yielded dict. Nothing when the change fails."""
    sub = repository.for_account(session, account_id, for_update=True)
    before = fields(sub)
    extra: dict[str, Any] = {}
    yield extra
    was, now_is = audit.changes(before, fields(sub))
    audit.record(session, by, action, target_type="subscription", target_id=sub.id, now=now, account_id=account_id,
                 reason=reason, before=was, after={**now_is, **extra})
