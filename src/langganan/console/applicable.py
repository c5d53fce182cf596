"""Which account actions can apply to an account as it is now (issue 16): the console's account page offers only
these, so an operator is never shown a button whose form can only be refused (cancel on Free, free time during a
trial, undo when nothing is canceled). A pure function of a few facts about the subscription; the domain's own
refusals (subscriptions/operator.py, subscriptions/service.py) stay the guard on every POST, and
tests/api/test_console_account_actions.py checks the two agree state by state."""

from __future__ import annotations

from dataclasses import dataclass

from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.invoices import repository as invoices_repo
from langganan.invoices.models import Invoice
from langganan.kit.work import Work
from langganan.notifications.resend import RESENDABLE
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import Subscription, SubscriptionStatus

ALWAYS = frozenset({"adjust-wallet", "view-portal"})  # a grant is always possible; the portal always opens


@dataclass(frozen=True)
class AccountState:
    trialing: bool  # in the trial (its plan is the trial plan, not Free)
    on_free: bool  # on the catalog's Free plan
    past_due: bool  # the period ended and its renewal is unpaid (the grace period)
    cancel_scheduled: bool  # back to Free at period end
    renewal_charging: bool  # the renewal's card charge is in flight
    paid_ahead: bool  # the next period's renewal is paid already
    resendable_invoices: bool  # an invoice whose email can be sent again
    billing_complete: bool = True  # billing information complete: a paid plan may be bought


def applicable(state: AccountState) -> frozenset[str]:
    """The actions (pages_accounts.ACTIONS keys) whose domain step would not refuse this state."""
    found = set(ALWAYS)
    if state.trialing:
        found.add("extend-trial")
    # an overdue renewal is paid (or the subscription canceled) before the plan changes; from Free the only
    # changes are purchases, which need the billing information
    if not state.past_due and not (state.on_free and not state.billing_complete):
        found.add("change-plan")
    if state.cancel_scheduled:
        found.add("undo-cancel")
    elif not state.on_free:
        found.add("cancel")
    if not (state.trialing or state.on_free or state.past_due or state.renewal_charging or state.paid_ahead):
        found.add("free-period")
    if state.resendable_invoices:
        found.add("resend-invoice")
    return frozenset(found)


RESEND_CHOICES = 25  # the account's newest invoices the resend form offers


def resendable(session: Work, account_id: str) -> list[Invoice]:
    """The invoices the resend form offers: the newest, whose email asks for a payment that can still be made."""
    newest, _ = invoices_repo.list_invoices(session, account_id=account_id, status=None, type_=None,
                                            limit=RESEND_CHOICES, starting_after=None, with_lines=False)
    return [i for i in newest if i.status in RESENDABLE]


def state_of(session: Work, account: Account, sub: Subscription) -> AccountState:
    """The facts `applicable` decides on, read from the account as it is (the reading half; `applicable` is pure)."""
    default_plan = catalog_service.get(session, sub.catalog_version_id).default_plan
    return AccountState(trialing=sub.status == SubscriptionStatus.TRIALING, on_free=sub.plan_code == default_plan,
                        past_due=sub.status == SubscriptionStatus.PAST_DUE,
                        cancel_scheduled=sub.cancel_at_period_end, renewal_charging=sub.renewal_payment_id is not None,
                        paid_ahead=subscriptions.paid_through(session, sub) is not None,
                        resendable_invoices=bool(resendable(session, account.id)),
                        billing_complete=account.billing_complete)
