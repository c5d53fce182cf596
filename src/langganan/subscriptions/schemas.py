from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from langganan.addons.schemas import ItemOut
from langganan.invoices.schemas import LineOut
from langganan.kit.fields import Id
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.subscriptions.rules import MAX_TRIAL_EXTENSION_DAYS, Quote


class PendingChange(BaseModel):
    plan: str
    interval: str
    applies_at: datetime


class SubscriptionPromotionOut(BaseModel):
    """The promotion as the subscription shows it (the promotion itself is `PromotionOut`)."""

    code: str
    percent_off: int | None = None
    amount_off: int | None = None
    ends_at: datetime
    plans: list[str]
    description: str = Field(description="e.g. '20% off'")


class SubscriptionOut(BaseModel):
    id: str
    account_id: str
    plan: str
    interval: str
    status: SubscriptionStatus = Field(description="trialing, active or past_due")
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    pending_change: PendingChange | None
    promotion: SubscriptionPromotionOut | None = Field(
        default=None, description="An active promotion: {code, percent_off|amount_off, ends_at}; a period starting "
                                  "before ends_at gets it")
    add_ons: list[ItemOut] = []
    catalog_version: int
    auto_renew: bool = Field(default=False, description="Charge the saved card at period end")
    payment_method_id: str | None = None


class AutoRenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: StrictBool
    payment_method_id: Id | None = Field(default=None,
                                         description="The saved card to charge; default: the account's default card")


class ExtendTrialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: StrictInt = Field(ge=1, le=MAX_TRIAL_EXTENSION_DAYS, description="Days added to the trial")


class ChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=40)
    interval: str | None = Field(default=None, max_length=10,
                                 description="month or year; defaults to the current interval")
    payment_method: str = Field(default="bank_transfer", max_length=20, description="card, bank_transfer or qris")
    payment_method_id: Id | None = None
    bank: str | None = Field(default=None, max_length=20)


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=40)
    interval: str | None = Field(default=None, max_length=10)


class PreviewOut(BaseModel):
    kind: str = Field(description="upgrade (invoiced now) or downgrade (at period end)")
    plan: str
    interval: str
    amount_due: int
    currency: str
    lines: list[LineOut]
    applies_at: datetime | None = Field(description="null: when the invoice is paid")
    blocked_by: list[str]


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_method: str = Field(default="bank_transfer", max_length=20)
    payment_method_id: Id | None = None
    bank: str | None = Field(default=None, max_length=20)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at_period_end: StrictBool = True


def subscription_out(sub: Subscription, catalog_version: int, add_ons: list[ItemOut] | None = None,
                     promotion: dict[str, Any] | None = None, paid_through: datetime | None = None) -> SubscriptionOut:
    """`paid_through`: the end of a renewal paid ahead, where a scheduled change applies."""
    pending = None
    if sub.pending_plan:
        pending = PendingChange(plan=sub.pending_plan, interval=sub.pending_interval or sub.interval,
                                applies_at=paid_through or sub.current_period_end)
    return SubscriptionOut(id=sub.id, account_id=sub.account_id, plan=sub.plan_code, interval=sub.interval,
                           status=sub.status, current_period_start=sub.current_period_start,
                           current_period_end=sub.current_period_end, trial_end=sub.trial_end,
                           cancel_at_period_end=sub.cancel_at_period_end, pending_change=pending,
                           catalog_version=catalog_version, add_ons=add_ons or [],
                           promotion=SubscriptionPromotionOut(**promotion) if promotion else None,
                           auto_renew=sub.auto_renew, payment_method_id=sub.payment_method_id)


def preview_out(quote: Quote, currency: str, blocked: list[str]) -> PreviewOut:
    return PreviewOut(kind=quote.api_kind, plan=quote.plan.code, interval=quote.interval,
                      amount_due=quote.amount_due, currency=currency,
                      lines=[LineOut(description=ln.description, kind=ln.kind, quantity=ln.quantity,
                                     unit_amount=ln.unit_amount, amount=ln.amount, period_start=ln.period_start,
                                     period_end=ln.period_end) for ln in quote.lines],
                      applies_at=quote.applies_at, blocked_by=blocked)
