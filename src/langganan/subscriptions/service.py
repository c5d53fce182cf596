"""Subscriptions: one per account, always on a plan. Purchases, upgrades, downgrades, renewals,
cancellations and the period-end transitions (DESIGN rules 1-4, 13)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from langganan.accounts import repository as accounts_repo
from langganan.accounts.models import Account, TrialClaim
from langganan.addons import service as addons
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Catalog, Plan
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.models import Invoice
from langganan.invoices.rules import Line
from langganan.kit.errors import Conflict, NotFound, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.periods import add_months_anchored, anchor_day_of, period_end
from langganan.subscriptions import repository
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.rules import (
    CurrentTerm,
    Quote,
    exceeded_limits,
    plan_label,
    quote_change,
)
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets


def _snapshot(sub: Subscription) -> dict[str, Any]:
    return {"subscription_id": sub.id, "plan": sub.plan_code, "interval": sub.interval, "status": sub.status,
            "current_period_start": sub.current_period_start.isoformat(),
            "current_period_end": sub.current_period_end.isoformat()}


def plan_of(session: Session, sub: Subscription) -> Plan:
    return catalog_service.get(session, sub.catalog_version_id).plans[sub.plan_code]


def _start_period(session: Session, sub: Subscription, account: Account, catalog: Catalog, plan: Plan,
                  interval: str, start: datetime, *, status: str, amount: int) -> None:
    """A new period at `start` on `plan` (purchase, return to Free): the anchor becomes start's day."""
    sub.plan_code = plan.code
    sub.interval = interval
    sub.catalog_version_id = catalog.id
    sub.status = status
    sub.period_amount = amount
    sub.anchor_day = anchor_day_of(start, account.timezone)
    sub.current_period_start = start
    sub.current_period_end = period_end(start, interval, sub.anchor_day, account.timezone)
    sub.cancel_at_period_end = False
    sub.pending_plan = None
    sub.pending_interval = None
    sub.updated_at = start
    start_allotment(session, sub, account, plan, start)


def start_allotment(session: Session, sub: Subscription, account: Account, plan: Plan, start: datetime) -> None:
    """Rule 5: included credit and broadcast quota are monthly allotments on the anchor day."""
    end = min(add_months_anchored(start, 1, sub.anchor_day, account.timezone), sub.current_period_end)
    sub.allotment_start, sub.allotment_end, sub.broadcasts_used = start, end, 0
    wallet = wallets_repo.get(session, account.id, "conversation", for_update=True)
    if wallet.granted_expires_at is not None:  # a new allotment replaces whatever grant was running
        wallets.expire_grant(session, wallet, min(start, wallet.granted_expires_at))
    wallets.grant(session, wallet, plan.included_credit.get("conversation", 0), end, start,
                  reference=f"{plan.name} included credit")


def create_initial(session: Session, account: Account, now: datetime, *, start_trial: bool) -> Subscription:
    catalog = catalog_service.current(session)
    sub = Subscription(id=new_id("sub"), account_id=account.id, currency=account.currency, created_at=now)
    if start_trial:
        if accounts_repo.trial_claimed(session, account.email, account.id):
            raise Conflict("trial_already_used", "This email address has already had its free trial.",
                           param="start_trial")
        session.add(TrialClaim(email=account.email, account_id=account.id, created_at=now))
        plan = catalog.plans[catalog.trial_plan]
        _start_period(session, sub, account, catalog, plan, "month", now, status="trialing", amount=0)
        sub.trial_end = sub.current_period_end  # one calendar month
    else:
        _start_period(session, sub, account, catalog, catalog.plans[catalog.default_plan], "month", now,
                      status="active", amount=0)
    session.add(sub)
    session.flush()
    events.emit(session, "subscription.created", account.id, _snapshot(sub), now)
    if start_trial:
        events.emit(session, "trial.started", account.id, {**_snapshot(sub), "trial_end": sub.trial_end.isoformat()
                                                           if sub.trial_end else None}, now)
    return sub


def current_term(session: Session, sub: Subscription) -> CurrentTerm:
    catalog = catalog_service.get(session, sub.catalog_version_id)
    return CurrentTerm(plan=catalog.plans[sub.plan_code], interval=sub.interval, status=sub.status,
                       period_start=sub.current_period_start, period_end=sub.current_period_end,
                       anchor_day=sub.anchor_day, period_amount=sub.period_amount,
                       is_default_plan=sub.plan_code == catalog.default_plan)


def _target(session: Session, plan_code: str, interval: str | None, sub: Subscription) -> tuple[Plan, str]:
    catalog = catalog_service.current(session)
    plan = catalog.plans.get(plan_code)
    if plan is None:
        raise NotFound("plan", plan_code, param="plan")
    if interval is None:
        interval = sub.interval if sub.status != "trialing" else "month"
    if interval not in ("month", "year"):
        raise Unprocessable("invalid_interval", "Interval must be 'month' or 'year'.", param="interval")
    return plan, interval


def _with_add_ons(session: Session, sub: Subscription, plan: Plan) -> dict[str, int]:
    """The plan's limits plus the add-ons that continue into the next period."""
    extra = addons.extra_limits(session, sub, exclude_stopping=True)
    return {name: value + extra.get(name, 0) for name, value in plan.limits.items()}


def _usage(account: Account) -> dict[str, int]:
    return {"users": account.users_count, "contacts": account.contacts_count}


def preview(session: Session, account: Account, plan_code: str, interval: str | None,
            now: datetime) -> tuple[Quote, list[str]]:
    sub = repository.for_account(session, account.id)
    plan, interval = _target(session, plan_code, interval, sub)
    quote = quote_change(current_term(session, sub), plan, interval, now, account.timezone)
    blocked = exceeded_limits(_with_add_ons(session, sub, plan), _usage(account)) if quote.kind == "downgrade" else []
    return quote, blocked


def require_billing_info(account: Account) -> None:
    if not account.billing_complete:
        raise Conflict("billing_info_required",
                       "Complete the billing information before making a paid purchase.", param=None)


def _cancel_open_purchases(session: Session, sub: Subscription, now: datetime) -> None:
    """Rule 3: a new plan change (or a cancel/downgrade) voids an older unpaid plan-change invoice."""
    for old in invoices_repo.open_purchases(session, sub.id):
        invoices.cancel(session, old, now)


def change(session: Session, settings: Settings, account: Account, plan_code: str, interval: str | None,
           now: datetime) -> tuple[Quote, Invoice | None]:
    sub = repository.for_account(session, account.id, for_update=True)
    plan, interval = _target(session, plan_code, interval, sub)
    term = current_term(session, sub)
    quote = quote_change(term, plan, interval, now, account.timezone)
    if quote.kind == "downgrade":
        blocked = exceeded_limits(_with_add_ons(session, sub, plan), _usage(account))
        if blocked:
            raise Conflict("limit_exceeded", f"Current usage does not fit {plan.name}: "
                           f"{', '.join(blocked)} over the limit.", param="plan", limits=blocked)
        _cancel_open_purchases(session, sub, now)
        sub.pending_plan, sub.pending_interval = plan.code, interval
        sub.cancel_at_period_end = False
        sub.updated_at = now
        events.emit(session, "subscription.downgrade_scheduled", account.id,
                    {**_snapshot(sub), "pending_plan": plan.code, "pending_interval": interval,
                     "applies_at": sub.current_period_end.isoformat()}, now)
        return quote, None
    require_billing_info(account)
    _cancel_open_purchases(session, sub, now)
    catalog = catalog_service.current(session)
    action = {"kind": quote.kind, "plan": plan.code, "interval": interval, "catalog_version_id": catalog.id,
              "period_amount": quote.new_period_amount,
              "from": {"plan": sub.plan_code, "interval": sub.interval, "status": sub.status,
                       "period_start": sub.current_period_start.isoformat()}}
    expires = now + timedelta(days=settings.invoice_payment_days)
    if quote.kind == "upgrade":
        assert quote.period_end is not None
        action["period_end"] = quote.period_end.isoformat()
        expires = min(expires, sub.current_period_end)
    total = quote.amount_due
    invoice = invoices.issue(
        session, settings, account=account, type_="subscription" if quote.kind == "purchase" else "plan_change",
        lines=quote.lines, action=action, now=now, expires_at=expires, subscription_id=sub.id,
        package=plan_label(plan, interval), period_start=quote.period_start, period_end=quote.period_end,
        status="paid" if total <= 0 else "unpaid")
    if invoice.status == "paid":
        apply_paid_invoice(session, invoice, now)
    return quote, invoice


def renew(session: Session, settings: Settings, account: Account, now: datetime) -> tuple[Invoice, bool]:
    """The renewal invoice for the period after the current one (rule 4). Returns (invoice, created)."""
    sub = repository.for_account(session, account.id, for_update=True)
    catalog = catalog_service.current(session)
    if sub.plan_code == catalog.default_plan or sub.status == "trialing":
        raise Conflict("nothing_to_renew", "Only a paid plan can be renewed; choose a plan to buy instead.")
    existing = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    if existing is not None:
        if existing.status == "paid":
            raise Conflict("already_renewed", "The next period is already paid; at most one period is paid ahead.")
        return existing, False
    plan = catalog.plans.get(sub.plan_code)
    if plan is None:
        raise Conflict("plan_retired", f"Plan {sub.plan_code!r} is no longer sold; choose another plan.")
    start = sub.current_period_end
    end = period_end(start, sub.interval, sub.anchor_day, account.timezone)
    price = plan.price(sub.interval)  # rule 13: the catalog reaches the subscription at renewal
    line = Line("plan", f"{plan_label(plan, sub.interval)} renewal", 1, price, price, start, end)
    lines = [line, *addons.renewal_lines(session, sub, start, end)]
    action = {"kind": "renewal", "plan": plan.code, "interval": sub.interval, "catalog_version_id": catalog.id,
              "period_amount": price, "period_start": start.isoformat(), "period_end": end.isoformat()}
    invoice = invoices.issue(session, settings, account=account, type_="renewal", lines=lines, action=action,
                             now=now, expires_at=start, subscription_id=sub.id,
                             package=plan_label(plan, sub.interval), period_start=start, period_end=end,
                             status="paid" if sum(ln.amount for ln in lines) <= 0 else "unpaid")
    if invoice.status == "paid":
        apply_paid_invoice(session, invoice, now)
    return invoice, True


def cancel(session: Session, account: Account, at_period_end: bool, now: datetime) -> Subscription:
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
                    {**_snapshot(sub), "applies_at": sub.current_period_end.isoformat()}, now)
        return sub
    _to_free(session, sub, account, now, reason="canceled")
    return sub


def _to_free(session: Session, sub: Subscription, account: Account, at: datetime, *, reason: str) -> None:
    catalog = catalog_service.current(session)
    was = _snapshot(sub)
    trialing = sub.status == "trialing"
    renewal = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    if renewal is not None and renewal.status == "unpaid":
        invoices.cancel(session, renewal, at)
    addons.on_period_roll(session, sub, at, renewed=False)
    _start_period(session, sub, account, catalog, catalog.plans[catalog.default_plan], "month", at,
                  status="active", amount=0)
    if trialing:
        events.emit(session, "trial.ended", account.id, {**was, "converted": False}, at)
    events.emit(session, "subscription.canceled", account.id, {**_snapshot(sub), "previous": was,
                                                               "reason": reason}, at)


# -- applying a paid invoice -------------------------------------------------------------------

def can_apply(session: Session, invoice: Invoice) -> bool:
    """Whether paying this invoice can still do what it was issued for (rule 10)."""
    if invoice.subscription_id is None:
        return True
    sub = session.get(Subscription, invoice.subscription_id)
    if sub is None:
        return False
    action = invoice.action
    kind = action.get("kind")
    catalog = catalog_service.get(session, sub.catalog_version_id)
    if kind == "purchase":
        return sub.plan_code == catalog.default_plan or sub.status == "trialing"
    if kind == "upgrade":
        origin = action["from"]
        return (sub.plan_code == origin["plan"] and sub.interval == origin["interval"]
                and sub.current_period_start.isoformat() == origin["period_start"])
    if kind == "renewal":
        return (sub.current_period_end.isoformat() == action["period_start"]
                and sub.plan_code != catalog.default_plan)
    if kind == "add_on":
        return sub.plan_code != catalog.default_plan and addons.can_apply(sub, invoice)
    return False


def apply_paid_invoice(session: Session, invoice: Invoice, now: datetime) -> None:
    """Do what a paid subscription invoice was for. The caller checked `can_apply` under lock."""
    if invoice.subscription_id is None:
        return
    sub = session.get(Subscription, invoice.subscription_id, with_for_update=True)
    assert sub is not None
    account = accounts_repo.get(session, sub.account_id)
    action = invoice.action
    if action["kind"] == "add_on":
        addons.activate(session, sub, invoice, now)
        return
    catalog = catalog_service.get(session, int(action["catalog_version_id"]))
    plan = catalog.plans[action["plan"]]
    was = _snapshot(sub)
    kind = action["kind"]
    if kind == "purchase":
        trialing = sub.status == "trialing"
        _start_period(session, sub, account, catalog, plan, action["interval"], now, status="active",
                      amount=int(action["period_amount"]))
        if trialing:
            events.emit(session, "trial.ended", account.id, {**was, "converted": True}, now)
        events.emit(session, "subscription.upgraded", account.id, {**_snapshot(sub), "previous": was}, now)
    elif kind == "upgrade":
        old_credit = plan_of(session, sub).included_credit.get("conversation", 0)
        extra = plan.included_credit.get("conversation", 0) - old_credit
        if extra > 0 and sub.allotment_end is not None:  # rule 5: the difference at once, expiring with it
            wallet = wallets_repo.get(session, account.id, "conversation", for_update=True)
            wallets.grant(session, wallet, extra, sub.allotment_end, now, reference=f"upgrade to {plan.name}")
        sub.plan_code, sub.interval, sub.catalog_version_id = plan.code, action["interval"], catalog.id
        sub.current_period_end = datetime.fromisoformat(action["period_end"])
        sub.period_amount = int(action["period_amount"])
        sub.pending_plan = sub.pending_interval = None  # rule 3
        sub.cancel_at_period_end = False
        sub.updated_at = now
        events.emit(session, "subscription.upgraded", account.id, {**_snapshot(sub), "previous": was}, now)
    elif kind == "renewal":
        sub.pending_plan = sub.pending_interval = None  # rule 3: a renewal clears a pending change
        sub.cancel_at_period_end = False
        sub.updated_at = now
        events.emit(session, "subscription.renewal_paid", account.id,
                    {**_snapshot(sub), "next_period_start": action["period_start"],
                     "next_period_end": action["period_end"]}, now)


# -- period end (due work) -----------------------------------------------------------------------

def roll_period(session: Session, sub: Subscription) -> None:
    """Apply what happens at the end of `sub`'s current period, at that instant."""
    at = sub.current_period_end
    account = accounts_repo.get(session, sub.account_id)
    catalog = catalog_service.current(session)
    if sub.status == "trialing":
        _to_free(session, sub, account, at, reason="trial_ended")
        return
    if sub.plan_code == catalog.default_plan:
        # Free's period is monthly; the anchor is kept.
        sub.current_period_start = at
        sub.current_period_end = period_end(at, "month", sub.anchor_day, account.timezone)
        sub.catalog_version_id = catalog.id
        sub.updated_at = at
        start_allotment(session, sub, account, catalog.plans[sub.plan_code], at)
        events.emit(session, "subscription.period_started", account.id, _snapshot(sub), at)
        return
    renewal = invoices_repo.renewal_for(session, sub.id, at)
    if sub.cancel_at_period_end or sub.pending_plan == catalog.default_plan:
        _to_free(session, sub, account, at, reason="canceled")
        return
    if renewal is not None and renewal.status == "paid":
        action = renewal.action
        was = _snapshot(sub)
        sub.plan_code, sub.interval = action["plan"], action["interval"]
        sub.catalog_version_id = int(action["catalog_version_id"])
        sub.period_amount = int(action["period_amount"])
        sub.current_period_start = at
        sub.current_period_end = datetime.fromisoformat(action["period_end"])
        sub.status = "active"
        sub.updated_at = at
        addons.on_period_roll(session, sub, at, renewed=True)
        start_allotment(session, sub, account, plan_of(session, sub), at)
        events.emit(session, "subscription.renewed", account.id, {**_snapshot(sub), "previous": was}, at)
        return
    # Rule 4 (until the lifecycle adds grace and auto-charge): a period ending unpaid returns to Free.
    reason = "downgrade_unpaid" if sub.pending_plan else "not_renewed"
    _to_free(session, sub, account, at, reason=reason)


def roll_allotment(session: Session, sub: Subscription) -> None:
    """A new monthly allotment inside a longer (yearly) period."""
    assert sub.allotment_end is not None
    account = accounts_repo.get(session, sub.account_id)
    start_allotment(session, sub, account, plan_of(session, sub), sub.allotment_end)
    events.emit(session, "subscription.allotment_started", account.id, _snapshot(sub), sub.allotment_end)
