"""Subscriptions: one per account, always on a plan. Purchases, upgrades, downgrades, renewals,
cancellations and the period-end transitions (DESIGN rules 1-4, 13)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from langganan.accounts import repository as accounts_repo
from langganan.accounts.models import Account, TrialClaim
from langganan.accounts.service import require_billing_info
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Catalog, Plan, WalletKind
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.actions import AddOnAction, PlanOrigin, PurchaseAction, RenewalAction, UpgradeAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.invoices.rules import Line
from langganan.kit.errors import Conflict, NotFound, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.periods import add_months_anchored, anchor_day_of, period_end, wall_time_of
from langganan.kit.work import Work
from langganan.promotions import rules as promotion_rules
from langganan.promotions import service as promotions
from langganan.promotions.models import RedemptionEndReason
from langganan.subscriptions import addons, history, repository
from langganan.subscriptions.history import PeriodKind
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.subscriptions.rules import (
    MAX_TRIAL_EXTENSION_DAYS,
    CurrentTerm,
    Quote,
    exceeded_limits,
    plan_label,
    quote_change,
)
from langganan.subscriptions.schedule import Policy
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets


def _snapshot(sub: Subscription) -> dict[str, Any]:
    return {"subscription_id": sub.id, "plan": sub.plan_code, "interval": sub.interval, "status": sub.status,
            "current_period_start": sub.current_period_start.isoformat(),
            "current_period_end": sub.current_period_end.isoformat()}


def plan_of(session: Work, sub: Subscription) -> Plan:
    return catalog_service.get(session, sub.catalog_version_id).plans[sub.plan_code]


def broadcast_limit(session: Work, sub: Subscription) -> int:
    """The plan's monthly broadcast quota (broadcasts sent and held count against it)."""
    return plan_of(session, sub).limits["broadcasts_per_month"]


def _start_period(session: Work, sub: Subscription, account: Account, catalog: Catalog, plan: Plan,
                  interval: str, start: datetime, *, status: SubscriptionStatus, amount: int, now: datetime,
                  invoice_id: str | None = None) -> None:
    """A new period at `start` on `plan` (purchase, return to Free): the anchor becomes start's day.
    `invoice_id`: the invoice that paid for it."""
    sub.plan_code = plan.code
    sub.interval = interval
    sub.catalog_version_id = catalog.id
    sub.status = status
    sub.period_amount = amount
    sub.anchor_day = anchor_day_of(start, account.timezone)
    sub.anchor_time = wall_time_of(start, account.timezone)
    sub.current_period_start = start
    sub.current_period_end = period_end(start, interval, sub.anchor_day, account.timezone, sub.anchor_time)
    sub.cancel_at_period_end = False
    sub.pending_plan = None
    sub.pending_interval = None
    _new_period(sub, start)
    start_allotment(session, sub, account, plan, start)
    kind = (PeriodKind.TRIAL if status == SubscriptionStatus.TRIALING
            else PeriodKind.FREE if plan.code == catalog.default_plan else PeriodKind.PAID)
    history.record(session, sub, start, kind, now, invoice_id=invoice_id)


def _new_period(sub: Subscription, at: datetime) -> None:
    """A period begins: whatever the last one's renewal needed is over."""
    sub.renewal_attempts, sub.renewal_payment_id, sub.charge_claimed_at = 0, None, None
    sub.updated_at = max(sub.updated_at, at) if sub.updated_at else at


def start_allotment(session: Work, sub: Subscription, account: Account, plan: Plan, start: datetime,
                    granted_at: datetime | None = None) -> None:
    """Rule 5: included credit and broadcast quota are monthly allotments on the anchor day.
    `granted_at` is when the credit is booked, later than `start` when a renewal is paid late."""
    end = min(add_months_anchored(start, 1, sub.anchor_day, account.timezone, sub.anchor_time),
              sub.current_period_end)
    sub.allotment_start, sub.allotment_end, sub.broadcasts_used = start, end, 0
    booked = max(start, granted_at or start)
    wallet = wallets_repo.get(session, account.id, WalletKind.CONVERSATION, for_update=True)
    if wallet.granted_expires_at is not None:  # a new allotment replaces whatever grant was running
        wallets.expire_grant(session, wallet, min(booked, wallet.granted_expires_at))
    wallets.grant(session, wallet, plan.included_credit.get(WalletKind.CONVERSATION, 0), end, booked,
                  reference=f"{plan.name} included credit")


def create_initial(session: Work, account: Account, now: datetime, *, start_trial: bool) -> Subscription:
    catalog = catalog_service.current(session)
    sub = Subscription(id=new_id("sub"), account_id=account.id, currency=account.currency, created_at=now)
    if start_trial:
        if accounts_repo.trial_claimed(session, account.email, account.id):
            raise Conflict("trial_already_used", "This email address has already had its free trial.",
                           param="start_trial")
        session.add(TrialClaim(email=account.email, account_id=account.id, created_at=now))
        plan = catalog.plans[catalog.trial_plan]
        _start_period(session, sub, account, catalog, plan, "month", now, status=SubscriptionStatus.TRIALING, amount=0,
                      now=now)
        sub.trial_end = sub.current_period_end  # one calendar month
    else:
        _start_period(session, sub, account, catalog, catalog.plans[catalog.default_plan], "month", now,
                      status=SubscriptionStatus.ACTIVE, amount=0, now=now)
    sub.due_cursor = now
    session.add(sub)
    session.flush()
    events.emit(session, "subscription.created", account.id, _snapshot(sub), now)
    if start_trial:
        events.emit(session, "trial.started", account.id, {**_snapshot(sub), "trial_end": sub.trial_end.isoformat()
                                                           if sub.trial_end else None}, now)
    return sub


def start_migrated(session: Work, sub: Subscription, account: Account, plan: Plan, interval: str, *,
                   anchor_day: int, start: datetime, end: datetime, allotment_from: datetime,
                   waived_invoice_id: str, now: datetime) -> None:
    """A legacy postpaid subscriber moves to prepaid (DESIGN: Migration): on `plan` for its running
    billing cycle [start, end) anchored on the enrollment day, nothing paid for it (the last postpaid
    month is waived: `waived_invoice_id`), the included credit of the allotment running at `now`
    granted at once (rule 5). The renewal invoice for `end` comes from the due runner like any other
    renewal."""
    catalog = catalog_service.current(session)
    sub.plan_code, sub.interval, sub.catalog_version_id = plan.code, interval, catalog.id
    sub.status, sub.period_amount, sub.anchor_day = SubscriptionStatus.ACTIVE, 0, anchor_day
    sub.anchor_time = wall_time_of(start, account.timezone)
    sub.current_period_start, sub.current_period_end = start, end
    sub.trial_end = None
    sub.cancel_at_period_end = False
    sub.pending_plan = sub.pending_interval = None
    sub.renewal_invoiced_for = None
    sub.due_cursor = now  # notices that fell due before the migration are not sent
    _new_period(sub, now)
    start_allotment(session, sub, account, plan, allotment_from, granted_at=now)
    history.record(session, sub, now, PeriodKind.MIGRATED, now, invoice_id=waived_invoice_id)


def current_term(session: Work, sub: Subscription) -> CurrentTerm:
    catalog = catalog_service.get(session, sub.catalog_version_id)
    return CurrentTerm(plan=catalog.plans[sub.plan_code], interval=sub.interval, status=sub.status,
                       period_start=sub.current_period_start, period_end=sub.current_period_end,
                       anchor_day=sub.anchor_day, anchor_time=sub.anchor_time, period_amount=sub.period_amount,
                       is_default_plan=sub.plan_code == catalog.default_plan,
                       paid_through=paid_through(session, sub))


def paid_through(session: Work, sub: Subscription) -> datetime | None:
    """The end of the next period when its renewal is already paid (at most one period paid ahead, rule 4):
    a cancel or downgrade scheduled now applies there, so nothing paid for is lost."""
    renewal = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    return renewal.period_end if renewal is not None and renewal.status == InvoiceStatus.PAID else None


def _target(session: Work, plan_code: str, interval: str | None, sub: Subscription) -> tuple[Plan, str]:
    catalog = catalog_service.current(session)
    plan = catalog.plans.get(plan_code)
    if plan is None:
        raise NotFound("plan", plan_code, param="plan")
    if interval is None:
        interval = sub.interval if sub.status != SubscriptionStatus.TRIALING else "month"
    if interval not in ("month", "year"):
        raise Unprocessable("invalid_interval", "Interval must be 'month' or 'year'.", param="interval")
    return plan, interval


def _with_add_ons(session: Work, sub: Subscription, plan: Plan) -> dict[str, int]:
    """The plan's limits plus the add-ons that continue into the next period."""
    extra = addons.extra_limits(session, sub, exclude_stopping=True)
    return {name: value + extra.get(name, 0) for name, value in plan.limits.items()}


def _usage(account: Account) -> dict[str, int]:
    return {"users": account.users_count, "contacts": account.contacts_count}


def preview(session: Work, account: Account, plan_code: str, interval: str | None,
            now: datetime) -> tuple[Quote, list[str]]:
    sub = repository.for_account(session, account.id)
    plan, interval = _target(session, plan_code, interval, sub)
    quote = quote_change(current_term(session, sub), plan, interval, now, account.timezone,
                         promotions.terms_for(session, sub))
    blocked = exceeded_limits(_with_add_ons(session, sub, plan), _usage(account)) if quote.kind == "downgrade" else []
    return quote, blocked


def _cancel_open_purchases(session: Work, sub: Subscription, now: datetime) -> None:
    """Rule 3: a new plan change (or a cancel/downgrade) voids an older unpaid plan-change invoice."""
    for old in invoices_repo.open_purchases(session, sub.id):
        invoices.cancel(session, old, now)


def _void_open_renewal(session: Work, sub: Subscription, now: datetime) -> None:
    """The unpaid renewal invoice no longer prices the next period (a downgrade or an upgrade came
    in between): cancel it, and let the due runner issue the right one."""
    renewal = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    if renewal is not None and renewal.status == InvoiceStatus.UNPAID:
        invoices.cancel(session, renewal, now)
        sub.renewal_invoiced_for = None


def refuse_overdue(session: Work, sub: Subscription) -> None:
    """A plan change needs a period to change: refused while the period ended unrenewed (past due)."""
    if sub.status == SubscriptionStatus.PAST_DUE:
        renewal = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
        number = f" {renewal.number}" if renewal is not None else ""
        raise Conflict("renewal_overdue", f"The period ended and its renewal invoice{number} is unpaid: pay it to "
                       "change the plan in the new period, or cancel the subscription.", param="plan")


def change(session: Work, settings: Settings, account: Account, plan_code: str, interval: str | None,
           now: datetime) -> tuple[Quote, Invoice | None]:
    sub = repository.for_account(session, account.id, for_update=True)
    refuse_overdue(session, sub)
    plan, interval = _target(session, plan_code, interval, sub)
    term = current_term(session, sub)
    quote = quote_change(term, plan, interval, now, account.timezone, promotions.terms_for(session, sub))
    if quote.kind == "downgrade":
        blocked = exceeded_limits(_with_add_ons(session, sub, plan), _usage(account))
        if blocked:
            raise Conflict("limit_exceeded", f"Current usage does not fit {plan.name}: "
                           f"{', '.join(blocked)} over the limit.", param="plan", limits=blocked)
        _cancel_open_purchases(session, sub, now)
        if sub.status != SubscriptionStatus.TRIALING:
            _void_open_renewal(session, sub, now)
        sub.pending_plan, sub.pending_interval = plan.code, interval
        sub.cancel_at_period_end = False
        sub.updated_at = now
        events.emit(session, "subscription.downgrade_scheduled", account.id,
                    {**_snapshot(sub), "pending_plan": plan.code, "pending_interval": interval,
                     "applies_at": term.changes_at.isoformat()}, now)
        return quote, None
    require_billing_info(account)
    _cancel_open_purchases(session, sub, now)
    catalog = catalog_service.current(session)
    origin = PlanOrigin(plan=sub.plan_code, interval=sub.interval, status=sub.status,
                        period_start=sub.current_period_start)
    action: PurchaseAction | UpgradeAction = PurchaseAction(
        plan=plan.code, interval=interval, catalog_version_id=catalog.id, period_amount=quote.new_period_amount,
        origin=origin)
    expires = now + timedelta(days=settings.invoice_payment_days)
    if quote.kind == "upgrade":
        assert quote.period_end is not None
        action = UpgradeAction(plan=plan.code, interval=interval, catalog_version_id=catalog.id,
                               period_amount=quote.new_period_amount, origin=origin, period_end=quote.period_end)
        expires = min(expires, sub.current_period_end)
    total = quote.amount_due
    invoice = invoices.issue(
        session, settings, account=account,
        type_=InvoiceType.SUBSCRIPTION if quote.kind == "purchase" else InvoiceType.PLAN_CHANGE,
        lines=quote.lines, action=action, now=now, expires_at=expires, subscription_id=sub.id,
        package=plan_label(plan, interval), period_start=quote.period_start, period_end=quote.period_end,
        status=InvoiceStatus.PAID if total <= 0 else InvoiceStatus.UNPAID)
    if invoice.status == InvoiceStatus.PAID:
        apply_paid_invoice(session, invoice, now)
    return quote, invoice


def renew(session: Work, settings: Settings, account: Account, now: datetime) -> tuple[Invoice, bool]:
    """The renewal invoice for the period after the current one (rule 4). Returns (invoice, created).
    A manual renewal keeps the current plan (and, once paid, clears a pending downgrade: rule 3)."""
    sub = repository.for_account(session, account.id, for_update=True)
    catalog = catalog_service.current(session)
    if sub.plan_code == catalog.default_plan or sub.status == SubscriptionStatus.TRIALING:
        raise Conflict("nothing_to_renew", "Only a paid plan can be renewed; choose a plan to buy instead.")
    existing = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    if existing is not None:
        if existing.status == InvoiceStatus.PAID:
            raise Conflict("already_renewed", "The next period is already paid; at most one period is paid ahead.")
        if existing.status != InvoiceStatus.UNPAID:
            raise Conflict("renewal_lapsed", f"The renewal invoice {existing.number} for the next period is "
                           f"{existing.status}; the period is not renewed.")
        return existing, False
    grace = timedelta(days=settings.grace_days)
    invoice = issue_renewal(session, settings, account, sub, now, plan_code=sub.plan_code, interval=sub.interval,
                            expires_at=sub.current_period_end + grace)
    return invoice, True


def issue_renewal(session: Work, settings: Settings, account: Account, sub: Subscription, now: datetime, *,
                  plan_code: str, interval: str, expires_at: datetime) -> Invoice:
    """The renewal invoice for [current_period_end, +interval) on `plan_code`, at the current catalog's
    price (rule 13), with the promotion's discount when the period starts before its end (rule 8)."""
    catalog = catalog_service.current(session)
    plan = catalog.plans.get(plan_code)
    if plan is None:
        raise Conflict("plan_retired", f"Plan {plan_code!r} is no longer sold; choose another plan.")
    start = sub.current_period_end
    end = period_end(start, interval, sub.anchor_day, account.timezone, sub.anchor_time)
    price = plan.price(interval)
    line = Line("plan", f"{plan_label(plan, interval)} renewal", 1, price, price, start, end)
    plan_part, paid = promotion_rules.plan_lines(line, promotions.terms_for(session, sub), plan.code, start)
    lines = [*plan_part, *addons.renewal_lines(session, sub, start, end, interval)]
    action = RenewalAction(plan=plan.code, interval=interval, catalog_version_id=catalog.id, period_amount=paid,
                           period_start=start, period_end=end)
    invoice = invoices.issue(session, settings, account=account, type_=InvoiceType.RENEWAL, lines=lines, action=action,
                             now=now, expires_at=expires_at, subscription_id=sub.id,
                             package=plan_label(plan, interval), period_start=start, period_end=end,
                             status=InvoiceStatus.PAID if sum(ln.amount for ln in lines) <= 0 else InvoiceStatus.UNPAID)
    if invoice.status == InvoiceStatus.PAID:
        apply_paid_invoice(session, invoice, now)
    return invoice


def cancel(session: Work, account: Account, at_period_end: bool, now: datetime) -> Subscription:
    sub = repository.for_account(session, account.id, for_update=True)
    catalog = catalog_service.current(session)
    if sub.plan_code == catalog.default_plan:
        raise Conflict("already_free", "The account is already on the Free plan.")
    _cancel_open_purchases(session, sub, now)
    if at_period_end:
        sub.cancel_at_period_end = True
        sub.pending_plan = sub.pending_interval = None  # rule 3: cancel replaces a scheduled downgrade
        sub.updated_at = now
        events.emit(session, "subscription.cancel_scheduled", account.id,
                    {**_snapshot(sub), "applies_at": (paid_through(session, sub) or sub.current_period_end)
                     .isoformat()}, now)
        return sub
    to_free(session, sub, account, now, reason="canceled")
    return sub


# Why an account returns to Free -> the event that says so.
FREE_REASONS = {"canceled": "subscription.canceled", "downgraded": "subscription.downgraded",
                "trial_ended": "subscription.downgraded", "unpaid": "subscription.downgraded",
                "plan_retired": "subscription.downgraded"}


def to_free(session: Work, sub: Subscription, account: Account, at: datetime, *, reason: str) -> None:
    """Back to Free at `at` (a new monthly period); nothing is deleted (DESIGN: non-payment)."""
    catalog = catalog_service.current(session)
    was = _snapshot(sub)
    trialing = sub.status == SubscriptionStatus.TRIALING
    if at > sub.current_period_end:  # the period ended unrenewed; its renewal could be paid until now
        lapsed = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
        history.record(session, sub, sub.current_period_end, PeriodKind.GRACE, at,
                       invoice_id=lapsed.id if lapsed is not None else None)
    _void_open_renewal(session, sub, at)
    addons.on_period_roll(session, sub, at, renewed=False)
    _start_period(session, sub, account, catalog, catalog.plans[catalog.default_plan], "month", at,
                  status=SubscriptionStatus.ACTIVE, amount=0, now=at)
    if trialing:
        events.emit(session, "trial.ended", account.id, {**was, "converted": False}, at)
    events.emit(session, FREE_REASONS[reason], account.id, {**_snapshot(sub), "previous": was, "reason": reason}, at)


# -- applying a paid invoice -------------------------------------------------------------------

def can_apply(session: Work, invoice: Invoice, now: datetime) -> bool:
    """Whether paying this invoice at `now` can still do what it was issued for (rule 10)."""
    if invoice.subscription_id is None:
        return True
    sub = session.get(Subscription, invoice.subscription_id)
    if sub is None:
        return False
    action = invoice.action
    catalog = catalog_service.get(session, sub.catalog_version_id)
    if isinstance(action, PurchaseAction):
        return sub.plan_code == catalog.default_plan or sub.status == SubscriptionStatus.TRIALING
    if isinstance(action, UpgradeAction):  # the rest of the period it prices must still be ahead, and paid for
        origin = action.origin
        return (sub.plan_code == origin.plan and sub.interval == origin.interval
                and sub.current_period_start == origin.period_start
                and sub.status == SubscriptionStatus.ACTIVE and now < sub.current_period_end)
    if isinstance(action, RenewalAction):
        return sub.current_period_end == action.period_start and sub.plan_code != catalog.default_plan
    if isinstance(action, AddOnAction):
        return (sub.plan_code != catalog.default_plan and addons.can_apply(sub, invoice)
                and now < sub.current_period_end)
    return False


def apply_paid_invoice(session: Work, invoice: Invoice, now: datetime, *, card_id: str | None = None) -> None:
    """Do what a paid subscription invoice was for. The caller checked `can_apply` under lock.
    `card_id`: the saved card that paid it; a plan bought with a saved card renews automatically."""
    if invoice.subscription_id is None:
        return
    sub = repository.get_locked(session, invoice.subscription_id)
    assert sub is not None
    account = accounts_repo.get(session, sub.account_id)
    action = invoice.action
    if isinstance(action, AddOnAction):
        addons.activate(session, sub, invoice, now)
        return
    if not isinstance(action, PurchaseAction | UpgradeAction | RenewalAction):
        return
    catalog = catalog_service.get(session, action.catalog_version_id)
    plan = catalog.plans[action.plan]
    was = _snapshot(sub)
    if isinstance(action, PurchaseAction | UpgradeAction) and card_id is not None:
        sub.auto_renew, sub.payment_method_id = True, card_id
    if isinstance(action, PurchaseAction):
        trialing = sub.status == SubscriptionStatus.TRIALING
        _start_period(session, sub, account, catalog, plan, action.interval, now, status=SubscriptionStatus.ACTIVE,
                      amount=action.period_amount, now=now, invoice_id=invoice.id)
        if trialing:
            events.emit(session, "trial.ended", account.id, {**was, "converted": True}, now)
        events.emit(session, "subscription.upgraded", account.id, {**_snapshot(sub), "previous": was}, now)
    elif isinstance(action, UpgradeAction):
        old_credit = plan_of(session, sub).included_credit.get(WalletKind.CONVERSATION, 0)
        extra = plan.included_credit.get(WalletKind.CONVERSATION, 0) - old_credit
        if extra > 0 and sub.allotment_end is not None:  # rule 5: the difference at once, expiring with it
            wallet = wallets_repo.get(session, account.id, WalletKind.CONVERSATION, for_update=True)
            wallets.grant(session, wallet, extra, sub.allotment_end, now, reference=f"upgrade to {plan.name}")
        _void_open_renewal(session, sub, now)  # it priced the old plan
        sub.plan_code, sub.interval, sub.catalog_version_id = plan.code, action.interval, catalog.id
        sub.current_period_end = action.period_end
        sub.period_amount = action.period_amount
        sub.pending_plan = sub.pending_interval = None  # rule 3
        sub.cancel_at_period_end = False
        sub.updated_at = now
        history.record(session, sub, now, PeriodKind.PAID, now, invoice_id=invoice.id)
        promotions.end(session, sub, now, reason=RedemptionEndReason.UPGRADE)  # rule 8: an upgrade removes it
        events.emit(session, "subscription.upgraded", account.id, {**_snapshot(sub), "previous": was}, now)
    else:
        sub.pending_plan = sub.pending_interval = None  # rule 3: a renewal clears a pending change
        sub.cancel_at_period_end = False
        sub.updated_at = now
        events.emit(session, "subscription.renewal_paid", account.id,
                    {**_snapshot(sub), "next_period_start": action.period_start.isoformat(),
                     "next_period_end": action.period_end.isoformat(), "invoice_id": invoice.id}, now)
        if sub.current_period_end <= now:  # paid at or after the period end (auto-charge, grace, dunning)
            roll_renewed(session, sub, invoice, granted_at=now)


# -- period ends (the due runner's steps live in lifecycle.py) --------------------------------

def roll_free(session: Work, sub: Subscription) -> None:
    """Free's period is monthly; the anchor is kept."""
    at = sub.current_period_end
    account = accounts_repo.get(session, sub.account_id)
    catalog = catalog_service.current(session)
    sub.current_period_start = at
    sub.current_period_end = period_end(at, "month", sub.anchor_day, account.timezone, sub.anchor_time)
    sub.catalog_version_id = catalog.id
    _new_period(sub, at)
    start_allotment(session, sub, account, catalog.plans[sub.plan_code], at)
    history.record(session, sub, at, PeriodKind.FREE, at)
    events.emit(session, "subscription.period_started", account.id, _snapshot(sub), at)


def roll_renewed(session: Work, sub: Subscription, renewal: Invoice, *, granted_at: datetime | None = None) -> None:
    """The paid renewal's period starts at the old period end, however late it was paid (rule 4)."""
    at = sub.current_period_end
    account = accounts_repo.get(session, sub.account_id)
    action = renewal.action
    assert isinstance(action, RenewalAction)
    was = _snapshot(sub)
    trialing = sub.status == SubscriptionStatus.TRIALING
    sub.plan_code, sub.interval = action.plan, action.interval
    sub.catalog_version_id = action.catalog_version_id
    sub.period_amount = action.period_amount
    sub.current_period_start = at
    sub.current_period_end = action.period_end
    sub.status = SubscriptionStatus.ACTIVE
    _new_period(sub, granted_at or at)
    addons.on_period_roll(session, sub, at, renewed=True)
    start_allotment(session, sub, account, plan_of(session, sub), at, granted_at)
    when = max(at, granted_at or at)
    history.record(session, sub, at, PeriodKind.PAID, when, invoice_id=renewal.id)
    if sub.promotion_redemption_id is not None and sub.plan_code not in promotions.eligible_plans(session, sub):
        # rule 8: a downgrade keeps it if eligible
        promotions.end(session, sub, when, reason=RedemptionEndReason.PLAN_NOT_ELIGIBLE)
    if trialing:
        events.emit(session, "trial.ended", account.id, {**was, "converted": True, "invoice_id": renewal.id}, when)
    events.emit(session, "subscription.renewed", account.id, {**_snapshot(sub), "previous": was,
                                                               "invoice_id": renewal.id}, when)
    if not trialing and was["plan"] != sub.plan_code:  # a change scheduled at period end (an operator's may be up)
        plans = catalog_service.get(session, sub.catalog_version_id).plans
        up = was["plan"] in plans and plans[sub.plan_code].rank > plans[was["plan"]].rank
        events.emit(session, "subscription.upgraded" if up else "subscription.downgraded", account.id,
                    {**_snapshot(sub), "previous": was, "reason": "scheduled"}, when)


def roll_allotment(session: Work, sub: Subscription) -> None:
    """A new monthly allotment inside a longer (yearly) period."""
    assert sub.allotment_end is not None
    account = accounts_repo.get(session, sub.account_id)
    start_allotment(session, sub, account, plan_of(session, sub), sub.allotment_end)
    events.emit(session, "subscription.allotment_started", account.id, _snapshot(sub), sub.allotment_end)


def renewal_charge_failed(session: Work, settings: Settings, invoice: Invoice, payment_id: str,
                          now: datetime) -> None:
    """The due runner's renewal charge was declined (rule 11 recorded it). A trial returns to Free;
    a renewal is past_due and retried, and after the last attempt the invoice fails and the account
    moves to Free (nothing is deleted)."""
    if invoice.subscription_id is None:
        return
    sub = repository.get_locked(session, invoice.subscription_id)
    if sub is None or sub.renewal_payment_id != payment_id:
        return  # a charge somebody asked for by hand: declined, nothing else changes
    account = accounts_repo.get(session, sub.account_id)
    sub.renewal_payment_id = sub.charge_claimed_at = None
    sub.updated_at = max(sub.updated_at, now)
    policy = Policy.from_settings(settings)
    if sub.status == SubscriptionStatus.TRIALING:
        to_free(session, sub, account, now, reason="trial_ended")
    elif sub.renewal_attempts >= policy.card_attempts:
        if invoice.status == InvoiceStatus.UNPAID:
            invoices.fail(session, invoice, now)
        to_free(session, sub, account, now, reason="unpaid")
    elif sub.status != SubscriptionStatus.PAST_DUE:
        sub.status = SubscriptionStatus.PAST_DUE
        events.emit(session, "subscription.past_due", account.id,
                    {**_snapshot(sub), "invoice_id": invoice.id, "method": "card",
                     "attempts_left": policy.card_attempts - sub.renewal_attempts}, now)


def set_auto_renew(session: Work, sub: Subscription, card_id: str | None, now: datetime) -> Subscription:
    """Automatic renewal on, charging the saved card `card_id`, or off (None). payments.cards.set_auto_renew
    chooses the card: saved cards belong to payments, above subscriptions."""
    enabled = card_id is not None
    if card_id is not None:
        sub.payment_method_id = card_id
    sub.auto_renew = enabled
    sub.updated_at = now
    events.emit(session, "subscription.auto_renew_changed", sub.account_id,
                {**_snapshot(sub), "auto_renew": enabled, "payment_method_id": sub.payment_method_id}, now)
    return sub


def extend_trial(session: Work, account: Account, days: int, now: datetime) -> Subscription:
    """An operator gives a trial more time (the seed's "contact us for more time")."""
    sub = repository.for_account(session, account.id, for_update=True)
    if sub.status != SubscriptionStatus.TRIALING or sub.trial_end is None:
        raise Conflict("not_trialing", "Only a subscription in its trial can have the trial extended.")
    if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise Unprocessable("invalid_days", f"days must be 1 to {MAX_TRIAL_EXTENSION_DAYS}.", param="days")
    sub.trial_end = sub.current_period_end = sub.trial_end + timedelta(days=days)
    sub.updated_at = now
    events.emit(session, "trial.extended", account.id,
                {**_snapshot(sub), "trial_end": sub.trial_end.isoformat(), "days": days}, now)
    return sub
