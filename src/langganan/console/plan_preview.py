"""Console: what an operator's plan change will do, said before it is confirmed (issue 16) — the invoice it issues
now and its amount (tax included), the period that invoice pays for, or that nothing is charged now and when the
change applies (with the first renewal on the new plan); what happens to the current period or trial; the unpaid
invoices, scheduled cancel or scheduled change it replaces; and the limits that refuse a downgrade.

Read only, and no arithmetic of its own: the kind and the lines come from `subscriptions.service.preview`
(rules.quote_change, the rule `service.change` prices with), the refusals from the checks the change itself
runs (`service.refuse_overdue`, `operator.period_end_target`, `require_billing_info`), the total from
`invoices.service.figures_for` (what `issue` adds up), the trial and promotion facts and the renewal price from
`portal.quotes` (the customer's Upgrade and Renew dialogs). `token` names what was shown: the confirm form carries
it and the change is made only while a fresh preview still has the same token (pages_accounts.change_plan)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from langganan.accounts.models import Account
from langganan.accounts.service import require_billing_info
from langganan.catalog.rules import Plan, WalletKind
from langganan.config import Settings
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.models import InvoiceStatus, InvoiceType
from langganan.kit.errors import Unprocessable
from langganan.kit.work import Work
from langganan.portal import quotes
from langganan.subscriptions import operator
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.wallets import repository as wallets_repo

WHEN = ("now", "period_end")


@dataclass(frozen=True)
class Preview:
    when: str  # now | period_end
    kind: str  # purchase | upgrade (an invoice now) | downgrade | scheduled (an upgrade at period end)
    plan: Plan
    interval: str
    current: str  # the current plan's name
    invoice_type: InvoiceType | None = None  # the invoice issued now; None: nothing is charged now
    amount: int = 0  # that invoice's total, tax included
    tax: int = 0
    unused_credit: int = 0  # an upgrade's credit for the unused time on the current plan
    start: datetime | None = None  # the period the invoice pays for (a purchase's: if it is paid now)
    end: datetime | None = None
    applies_at: datetime | None = None  # when a change that waits applies
    switches_at_once: bool = False  # nothing to pay: the invoice is paid at issue and the plan switches now
    next_renewal: quotes.Renewal | None = None  # a change that waits: the first renewal on the new plan
    choice: quotes.Choice | None = None  # the trial and promotion facts of a purchase or an upgrade
    blocked: list[str] = field(default_factory=list)  # a downgrade the current usage does not fit: refused
    cancels: list[str] = field(default_factory=list)  # numbers of the unpaid invoices canceled now
    clears_cancel: bool = False  # a scheduled cancel is withdrawn (now, or when the invoice is paid)
    replaces_pending: str | None = None  # the scheduled change (plan code) this one replaces

    @property
    def charges_now(self) -> bool:
        return self.invoice_type is not None

    @property
    def token(self) -> str:
        """What the confirm button performs: the change is refused if a fresh preview says anything else."""
        at = self.applies_at.isoformat() if self.applies_at else ""
        return "|".join((self.when, self.kind, self.plan.code, self.interval, str(self.amount), at,
                         ",".join(self.cancels)))


def preview(session: Work, settings: Settings, account: Account, plan_code: str, interval: str | None, when: str,
            now: datetime) -> Preview:
    """The change `pages_accounts.change_plan` makes for these inputs, or the DomainError it is refused with."""
    if when not in WHEN:
        raise Unprocessable("invalid_when", "Choose now or at period end.", param="when")
    if not plan_code.strip() or len(plan_code) > 40:
        raise Unprocessable("plan_required", "Choose a plan.", param="plan")
    sub = subs_repo.for_account(session, account.id)
    current = subscriptions.plan_of(session, sub).name
    if when == "period_end":
        _plan, _interval, _term, kind = operator.period_end_target(session, sub, plan_code.strip(), interval)
        if kind != "downgrade":  # an upgrade at period end: nothing now, the renewal is priced on the new plan
            return _waits(session, settings, account, sub, when, "scheduled", _plan, _interval, _term.changes_at,
                          current)
    subscriptions.refuse_overdue(session, sub)
    quote, blocked = subscriptions.preview(session, account, plan_code.strip(), interval, now)
    if quote.kind == "downgrade":
        assert quote.applies_at is not None
        found = _waits(session, settings, account, sub, when, "downgrade", quote.plan, quote.interval,
                       quote.applies_at, current, renewal_voided=sub.status != SubscriptionStatus.TRIALING)
        return replace(found, blocked=blocked)
    require_billing_info(account)
    type_ = InvoiceType.SUBSCRIPTION if quote.kind == "purchase" else InvoiceType.PLAN_CHANGE
    sums = invoices.figures_for(settings, type_, quote.lines)
    conversation = wallets_repo.get(session, account.id, WalletKind.CONVERSATION)
    choice = quotes.choice(session, settings, account, sub, quote, conversation, now)
    return Preview(when=when, kind=quote.kind, plan=quote.plan, interval=quote.interval, current=current,
                   invoice_type=type_, amount=sums.total, tax=sums.tax,
                   unused_credit=-sum(ln.amount for ln in quote.lines if ln.kind == "proration_credit"),
                   start=choice.start, end=choice.end, switches_at_once=quote.amount_due <= 0, choice=choice,
                   cancels=_open_purchases(session, sub), clears_cancel=sub.cancel_at_period_end,
                   replaces_pending=sub.pending_plan)


def _open_purchases(session: Work, sub: Subscription) -> list[str]:
    return [i.number for i in invoices_repo.open_purchases(session, sub.id)]


def _waits(session: Work, settings: Settings, account: Account, sub: Subscription, when: str, kind: str, plan: Plan,
           interval: str, applies_at: datetime, current: str, *, renewal_voided: bool = True) -> Preview:
    """A change that applies at `applies_at` with nothing charged now: the unpaid plan-change invoices (and the
    unpaid renewal, which priced the current plan) are canceled now, and the first period on the new plan is
    invoiced as a renewal (none when the new plan is Free)."""
    cancels = _open_purchases(session, sub)
    renewal = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    if renewal_voided and renewal is not None and renewal.status == InvoiceStatus.UNPAID:
        cancels.append(renewal.number)
    first = None if plan.is_free else quotes.priced_renewal(session, settings, account, sub, plan, interval,
                                                              applies_at)
    return Preview(when=when, kind=kind, plan=plan, interval=interval, current=current, applies_at=applies_at,
                   next_renewal=first, cancels=cancels, clears_cancel=sub.cancel_at_period_end,
                   replaces_pending=sub.pending_plan)
