"""What the Subscription page's statements and the Renew and Upgrade dialogs say before anything is bought: the
amount to pay (tax included, as the invoice will total it), the period it pays for, the card auto-renew charges,
and what a purchase during the trial does to the rest of the trial. Read only: the same domain functions the
purchase and the renewal use (subscriptions, promotions, invoices.rules), nothing issued."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Plan, WalletKind
from langganan.config import Settings
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.models import InvoiceStatus, InvoiceType
from langganan.invoices.rules import Line
from langganan.kit.periods import anchor_day_of, period_end, wall_time_of
from langganan.kit.work import Work
from langganan.payments import cards
from langganan.payments.models import PaymentMethod
from langganan.promotions import rules as promotion_rules
from langganan.promotions import service as promotions
from langganan.subscriptions import addons
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.subscriptions.rules import Quote
from langganan.wallets.models import Wallet


def total_with_tax(settings: Settings, type_: InvoiceType, lines: Sequence[Line]) -> int:
    """What an invoice of `type_` with these lines will total: PPN added by `invoices.service.issue`'s own rule."""
    return invoices.figures_for(settings, type_, lines).total


@dataclass(frozen=True)
class Renewal:
    """The next period and what paying for it costs; `invoice_id` when its renewal invoice is already issued."""

    plan: Plan
    interval: str
    start: datetime
    end: datetime
    amount: int
    invoice_id: str | None = None
    paid: bool = False  # the next period is paid already (at most one period ahead, rule 4)


def renewal(session: Work, settings: Settings, account: Account, sub: Subscription) -> Renewal | None:
    """The period after the current one as the renewal will price it: the open renewal invoice when there is
    one, else the current catalog's price of the plan the next period is on (a scheduled change's), less the
    promotion, plus the add-ons that continue (subscriptions.service.issue_renewal). None when nothing renews
    (Free, or the plan is no longer sold)."""
    catalog = catalog_service.current(session)
    code, interval = sub.pending_plan or sub.plan_code, sub.pending_interval or sub.interval
    plan = catalog.plans.get(code)
    if plan is None or plan.is_free:
        return None
    start = sub.current_period_end
    invoice = invoices_repo.renewal_for(session, sub.id, start)
    if invoice is not None and invoice.status in (InvoiceStatus.UNPAID, InvoiceStatus.PAID) \
            and invoice.period_end is not None:
        return Renewal(plan, interval, start, invoice.period_end, invoice.total, invoice.id,
                       paid=invoice.status == InvoiceStatus.PAID)
    return priced_renewal(session, settings, account, sub, plan, interval, start,
                          with_add_ons=sub.status != SubscriptionStatus.TRIALING)


def priced_renewal(session: Work, settings: Settings, account: Account, sub: Subscription, plan: Plan, interval: str,
                   start: datetime, *, with_add_ons: bool = True) -> Renewal:
    """The renewal invoice the due runner would issue for a period of `plan` starting at `start` at today's
    catalog price (subscriptions.service.issue_renewal): the plan line less the promotion, plus the add-ons that
    continue, tax included."""
    end = period_end(start, interval, sub.anchor_day, account.timezone, sub.anchor_time)
    price = plan.price(interval)
    lines, _paid = promotion_rules.plan_lines(Line("plan", plan.name, 1, price, price, start, end),
                                             promotions.terms_for(session, sub), plan.code, start)
    if with_add_ons:
        lines += addons.renewal_lines(session, sub, start, end, interval)
    return Renewal(plan, interval, start, end, total_with_tax(settings, InvoiceType.RENEWAL, lines))


@dataclass(frozen=True)
class AutoRenew:
    """How the next period gets paid: `card` is charged automatically, or (no card) the customer pays the
    renewal invoice by hand. `card_expires_first`: the card's last valid day is before the charge."""

    card: PaymentMethod | None
    card_expires_first: bool = False


def auto_renew(sub: Subscription, saved: Sequence[PaymentMethod]) -> AutoRenew:
    card = next((pm for pm in saved if pm.id == sub.payment_method_id), None) if sub.auto_renew else None
    return AutoRenew(card, card is not None and cards.expires_before(card, sub.current_period_end))


@dataclass(frozen=True)
class Choice:
    """One plan on the Upgrade page with what choosing it means, for its confirmation dialog."""

    amount: int  # to pay now, tax included (0 for a downgrade)
    start: datetime | None  # the period paid for (an estimate from now for a purchase: it starts at payment)
    end: datetime | None
    applies_at: datetime | None  # a downgrade's date
    ends_trial: bool = False  # bought during the trial: the trial ends when the payment arrives
    trial_end: datetime | None = None
    trial_credit_lost: int = 0  # the trial's free conversation credit left now, which expires at the purchase
    new_credit: int = 0  # the plan's included conversation credit granted at the purchase
    ends_promotion: str | None = None  # an upgrade removes the running promotion (rule 8): its code


def choice(session: Work, settings: Settings, account: Account, sub: Subscription, quote: Quote,
           conversation: Wallet | None, now: datetime) -> Choice:
    """The dialog's facts for `quote` (subscriptions.preview's): a purchase from Free or the trial starts a new
    period at the instant of payment at full price (rule 2), so if paid now it runs to one interval from now;
    during the trial the trial ends then, its remaining days are not carried over, and its unused free credit
    expires when the plan's included credit is granted (subscriptions.service.start_allotment). An upgrade
    between paid plans pays the prorated difference for the rest of the current period."""
    if quote.api_kind != "upgrade":
        return Choice(amount=0, start=None, end=None, applies_at=quote.applies_at)
    type_ = InvoiceType.SUBSCRIPTION if quote.kind == "purchase" else InvoiceType.PLAN_CHANGE
    amount = total_with_tax(settings, type_, quote.lines)
    if quote.kind == "purchase":
        end = period_end(now, quote.interval, anchor_day_of(now, account.timezone), account.timezone,
                         wall_time_of(now, account.timezone))
        trialing = sub.status == SubscriptionStatus.TRIALING
        left = 0
        if trialing and conversation is not None and conversation.granted_expires_at is not None \
                and conversation.granted_expires_at > now:
            left = conversation.granted_balance
        return Choice(amount=amount, start=now, end=end, applies_at=None, ends_trial=trialing,
                      trial_end=sub.trial_end if trialing else None, trial_credit_lost=left,
                      new_credit=quote.plan.included_credit.get(WalletKind.CONVERSATION, 0))
    terms = promotions.terms_for(session, sub)
    return Choice(amount=amount, start=now, end=quote.period_end, applies_at=None,
                  ends_promotion=terms.code if terms is not None and terms.ends_at > now else None)
