"""Add-ons bought in quantities: prorated to the period end, active when paid, renewed with the
subscription, stopped at period end (refused when current usage needs the capacity, rule 9)."""

from __future__ import annotations

from datetime import datetime, timedelta

from langganan.accounts.models import Account
from langganan.accounts.service import require_billing_info
from langganan.addons import repository
from langganan.addons.models import AddOnStatus, SubscriptionAddOn
from langganan.addons.rules import MAX_QUANTITY
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import AddOn
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import service as invoices
from langganan.invoices.actions import AddOnAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.invoices.rules import Line
from langganan.kit.errors import Conflict, NotFound, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.money import prorate
from langganan.kit.periods import days_in_period, remaining_days
from langganan.kit.work import Work
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.subscriptions.rules import exceeded_limits


def extra_limits(session: Work, sub: Subscription, *, exclude_stopping: bool = False,
                 exclude_item: str | None = None) -> dict[str, int]:
    catalog = catalog_service.current(session)
    out: dict[str, int] = {}
    for it in repository.live_items(session, sub.id):
        if it.id == exclude_item or (exclude_stopping and it.status == AddOnStatus.STOPPING):
            continue
        add_on = catalog.add_ons.get(it.add_on_code)
        for name, n in (add_on.grants if add_on else {}).items():
            out[name] = out.get(name, 0) + n * it.quantity
    return out


def buy(session: Work, settings: Settings, account: Account, sub: Subscription, code: str, quantity: int,
        now: datetime) -> Invoice:
    require_billing_info(account)
    catalog = catalog_service.current(session)
    add_on = catalog.add_ons.get(code)
    if add_on is None:
        raise NotFound("add_on", code, param="add_on")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Unprocessable("invalid_quantity", f"Quantity must be 1 to {MAX_QUANTITY}.", param="quantity")
    if sub.plan_code == catalog.default_plan or sub.status == SubscriptionStatus.TRIALING:
        raise Conflict("paid_plan_required", "Add-ons are bought on top of a paid plan; upgrade first.")
    if sub.status == SubscriptionStatus.PAST_DUE:  # the period ended unrenewed: nothing of it is left to add to
        raise Conflict("renewal_overdue", "The period ended and its renewal invoice is unpaid: pay it first, then "
                       "buy add-ons for the new period.")
    line = quote(add_on, account, sub, quantity, now)
    unit = add_on.prices[sub.interval]
    action = AddOnAction(add_on=code, quantity=quantity, unit_price=unit, period_start=sub.current_period_start)
    invoice = invoices.issue(session, settings, account=account, type_=InvoiceType.ADD_ON, lines=[line], action=action,
                             now=now, expires_at=min(now + timedelta(days=settings.invoice_payment_days),
                                                     sub.current_period_end),
                             subscription_id=sub.id, package=f"{add_on.name} × {quantity}", period_start=now,
                             period_end=sub.current_period_end,
                             status=InvoiceStatus.PAID if line.amount <= 0 else InvoiceStatus.UNPAID)
    if invoice.status == InvoiceStatus.PAID:  # nothing to pay (no whole day of the period is left): active at once
        activate(session, sub, invoice, now)
    return invoice


def quote(add_on: AddOn, account: Account, sub: Subscription, quantity: int, now: datetime) -> Line:
    """The invoice line for `quantity` units prorated by whole days to the period end (rule 2's count)."""
    tz = account.timezone
    total_days = days_in_period(sub.current_period_start, sub.current_period_end, tz)
    left = remaining_days(now, sub.current_period_start, sub.current_period_end, tz)
    unit = add_on.prices[sub.interval]
    return Line("add_on", f"{add_on.name} × {quantity} ({left} of {total_days} days)", quantity,
                prorate(unit, left, total_days), prorate(unit * quantity, left, total_days), now,
                sub.current_period_end)


def can_apply(sub: Subscription, invoice: Invoice) -> bool:
    action = invoice.action
    return isinstance(action, AddOnAction) and sub.current_period_start == action.period_start


def activate(session: Work, sub: Subscription, invoice: Invoice, now: datetime) -> SubscriptionAddOn:
    action = invoice.action
    assert isinstance(action, AddOnAction)
    code, quantity = action.add_on, action.quantity
    for it in repository.live_items(session, sub.id, for_update=True):
        if it.add_on_code == code and it.status == AddOnStatus.ACTIVE:
            it.quantity += quantity
            it.updated_at = now
            item = it
            break
    else:
        item = SubscriptionAddOn(id=new_id("si"), subscription_id=sub.id, account_id=sub.account_id,
                                 add_on_code=code, quantity=quantity, status=AddOnStatus.ACTIVE,
                                 unit_price=action.unit_price, created_at=now, updated_at=now)
        repository.may_have_add_ons(session, sub.id)
        session.add(item)
    session.flush()
    events.emit(session, "add_on.activated", sub.account_id,
                {"item_id": item.id, "add_on": code, "quantity": item.quantity}, now)
    return item


def stop(session: Work, account: Account, sub: Subscription, item_id: str, now: datetime,
         plan_limits: dict[str, int]) -> SubscriptionAddOn:
    item = repository.item(session, account.id, item_id)
    if item.status != AddOnStatus.ACTIVE:
        raise Conflict("add_on_not_active", f"The add-on is {item.status}.")
    remaining = extra_limits(session, sub, exclude_stopping=True, exclude_item=item.id)
    limits = {name: plan_limits.get(name, 0) + remaining.get(name, 0) for name in plan_limits}
    blocked = exceeded_limits(limits, {"users": account.users_count, "contacts": account.contacts_count})
    if blocked:
        raise Conflict("limit_exceeded", f"Current usage needs this add-on: {', '.join(blocked)} over the limit.",
                       param="item_id", limits=blocked)
    item.status, item.ends_at, item.updated_at = AddOnStatus.STOPPING, sub.current_period_end, now
    events.emit(session, "add_on.stop_scheduled", account.id,
                {"item_id": item.id, "add_on": item.add_on_code, "ends_at": item.ends_at.isoformat()}, now)
    return item


def renewal_lines(session: Work, sub: Subscription, start: datetime, end: datetime, interval: str) -> list[Line]:
    catalog = catalog_service.current(session)
    lines = []
    for it in repository.live_items(session, sub.id):
        add_on = catalog.add_ons.get(it.add_on_code)
        if it.status != AddOnStatus.ACTIVE or add_on is None:
            continue
        unit = add_on.prices[interval]
        lines.append(Line("add_on", f"{add_on.name} × {it.quantity} renewal", it.quantity, unit, unit * it.quantity,
                          start, end))
    return lines


def on_period_roll(session: Work, sub: Subscription, at: datetime, *, renewed: bool) -> None:
    """At period end: stopping items end; without a renewal every item ends with the plan (rule 3)."""
    for it in repository.live_items(session, sub.id, for_update=True):
        if it.status == AddOnStatus.STOPPING or not renewed:
            it.status, it.ends_at, it.updated_at = AddOnStatus.ENDED, at, at
            events.emit(session, "add_on.ended", sub.account_id, {"item_id": it.id, "add_on": it.add_on_code}, at)
