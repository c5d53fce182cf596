from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"  # the period ended while its renewal invoice is unpaid (the grace period)


class Subscription(Base):
    """Exactly one per account, always on some plan (Free when nothing else)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        # the due runner's look for renewal charges whose worker died: only the charges in flight
        Index("ix_subscriptions_charge_in_flight", "charge_claimed_at",
              sqlite_where=text("renewal_payment_id IS NOT NULL"),
              postgresql_where=text("renewal_payment_id IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), unique=True)
    plan_code: Mapped[str] = mapped_column(String(40))
    interval: Mapped[str] = mapped_column(String(10))  # month | year
    catalog_version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id"))
    status: Mapped[SubscriptionStatus] = mapped_column(text_column(SubscriptionStatus, 20))
    currency: Mapped[str] = mapped_column(String(3))
    # What was actually paid for the plan in this period, after discount (rule 2's "unused time").
    period_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_day: Mapped[int] = mapped_column(Integer)
    # the local time of day periods start at (kept across DST gaps); None: the period start's own
    anchor_time: Mapped[time | None]
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    trial_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_plan: Mapped[str | None] = mapped_column(String(40))
    pending_interval: Mapped[str | None] = mapped_column(String(10))
    # Monthly allotment window (DESIGN rule 5): included credit and broadcast quota renew on the anchor day.
    allotment_start: Mapped[datetime | None]
    allotment_end: Mapped[datetime | None]
    broadcasts_used: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    locked_at: Mapped[datetime | None]
    # Lifecycle (issue 4). Renew automatically with this saved card at period end.
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    payment_method_id: Mapped[str | None] = mapped_column(ForeignKey("payment_methods.id"))
    # The period end whose renewal invoice the due runner has seen to (issued, or found nothing to do).
    renewal_invoiced_for: Mapped[datetime | None]
    # Card charges started for the overdue renewal, and the one in flight (claimed at wall time).
    renewal_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    renewal_payment_id: Mapped[str | None] = mapped_column(String(40))
    charge_claimed_at: Mapped[datetime | None]
    promotion_redemption_id: Mapped[str | None] = mapped_column(ForeignKey("promotion_redemptions.id"))
    promotion_ends_at: Mapped[datetime | None]
    # The due runner's bookmarks: notices up to `due_cursor` were sent; `next_due_at` is the earliest
    # agenda item (subscriptions/schedule.py), kept current on every flush.
    due_cursor: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)


class PeriodKind(StrEnum):
    OPENING = "opening"  # the state when the history began (subscriptions from before migration 0013)
    FREE = "free"  # the catalog's default plan
    TRIAL = "trial"  # the one trial of the account (no invoice)
    PAID = "paid"  # a paid plan, paid for by `invoice_id` (a purchase, an upgrade or a renewal)
    MIGRATED = "migrated"  # a legacy postpaid subscriber's first prepaid cycle (`invoice_id`: the waived month)
    GRACE = "grace"  # after a period end, while its renewal (`invoice_id`) could still be paid; it was not
    # the rest of a paid period an operator lengthened with free time, no invoice (a "comp"; `invoice_id`: the
    # invoice that paid the period it lengthens); its audit entry (subscription.free_period_given) explains it
    COMP = "comp"


class SubscriptionPeriod(Base):
    """The subscription's history, append-only (subscriptions/history.py): from `starts_at` until the
    next row's `starts_at` (the last row: until now), the subscription was on `plan_code`/`interval` as
    `kind`, and `invoice_id` is what explains it. `langganan verify` checks the rows against the
    invoices and the subscription (DESIGN rules 1-5)."""

    __tablename__ = "subscription_periods"
    __table_args__ = (Index("ix_subscription_periods_subscription", "subscription_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    account_id: Mapped[str] = mapped_column(String(40))  # the subscription's
    starts_at: Mapped[datetime]
    plan_code: Mapped[str] = mapped_column(String(40))
    interval: Mapped[str] = mapped_column(String(10))
    kind: Mapped[PeriodKind] = mapped_column(text_column(PeriodKind, 20))
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    recorded_at: Mapped[datetime]  # the engine time it was written (a late renewal starts before it)
