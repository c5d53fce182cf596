"""Whether a "pay before" email still holds: checked when the event is fanned out (enqueue) and again when
its email is about to be sent, so a reminder that was overtaken by events is never sent.

Due work that catches up (a worker down for days, the sandbox clock moved a month) announces a renewal
reminder and, moments later in the same run, the move to Free; an email retried for hours after an SMTP
failure may meet the same change. A reminder, a past-due notice or a failed payment's "pay before" is
dropped (its feed item stays: it is history) once its invoice is no longer unpaid or the account is on
Free; a trial notice once the trial it announced has ended or moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from langganan.catalog import service as catalog_service
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.errors import NotFound
from langganan.kit.work import Work
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.models import Subscription, SubscriptionStatus

PAY_BEFORE = frozenset({"subscription.renewal_reminder", "subscription.past_due", "payment.failed",
                        "trial.will_end"})
# the notices about a paid plan's renewal: pointless once the account is on Free
ABOUT_RENEWAL = frozenset({"subscription.renewal_reminder", "subscription.past_due"})


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _subscription(session: Work, account_id: str) -> Subscription | None:
    try:
        return subs_repo.for_account(session, account_id)
    except NotFound:
        return None


def stale_reason(session: Work, event_type: str, data: Mapping[str, Any], account_id: str) -> str | None:
    """Why the email of this event would now be wrong (a short English reason for the delivery's record), or
    None when it still holds (every event not in PAY_BEFORE does)."""
    if event_type not in PAY_BEFORE:
        return None
    invoice_id = data.get("invoice_id")
    invoice = session.get(Invoice, invoice_id) if isinstance(invoice_id, str) else None
    if invoice is not None and invoice.status != InvoiceStatus.UNPAID:
        return f"invoice {invoice.number} is {invoice.status}"
    sub = _subscription(session, account_id)
    if sub is None:
        return None
    if event_type == "trial.will_end":
        announced = _instant(data.get("trial_end"))
        if sub.status != SubscriptionStatus.TRIALING or sub.trial_end is None or (
                announced is not None and announced != sub.trial_end):
            return "the trial it announced is over or was extended"
        return None
    if event_type in ABOUT_RENEWAL and sub.plan_code == catalog_service.current(session).default_plan:
        return "the account moved to the Free plan"
    return None
