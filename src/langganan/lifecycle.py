"""The subscription lifecycle's due work (issue 4; DESIGN rules 3-5, 8, 10-12, 14).

The due runner claims subscriptions whose `next_due_at` has passed (row locks, SKIP LOCKED on
PostgreSQL) and works through each one's agenda (subscriptions/schedule.py) in time order, each
step at the instant it fell due:

- bank transfer: the renewal invoice with its virtual account `renewal_invoice_days` before the
  period end, reminders, then past_due for `grace_days` after it, then Free; paid late within grace,
  the new period still starts at the old period end;
- card with auto-renew: at period end the renewal invoice is issued and a pending card payment is
  committed; the runner charges it after commit with the payment id as idempotency key (rule 11).
  A decline makes the subscription past_due and is retried after `card_retry_days`; after the last
  attempt the invoice is `failed` and the account moves to Free;
- trials: trial.will_end, then the saved card is charged for the trial plan, or back to Free;
- promotions: promotion.ending before the end date, promotion.ended at it;
- the monthly allotments of yearly plans, and Free's monthly periods.

Each step changes the state its agenda item is derived from (or, for a notice, moves the
subscription's `due_cursor` past it), so running it twice or from two workers does nothing twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from langganan.accounts import repository as accounts_repo
from langganan.accounts.models import Account
from langganan.addons import repository as addons_repo
from langganan.catalog import service as catalog_service
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import numbering
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from langganan.kit.clock import wall_now
from langganan.kit.db import is_transient, one_flush
from langganan.kit.work import Work
from langganan.payments import repository as payments_repo
from langganan.payments import service as payments
from langganan.payments.gateway import Gateway
from langganan.payments.models import Payment, PaymentMethodType, PaymentReceipt, PaymentStatus
from langganan.promotions import service as promotions
from langganan.promotions.models import RedemptionEndReason
from langganan.subscriptions import repository
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import Subscription, SubscriptionPeriod, SubscriptionStatus
from langganan.subscriptions.schedule import Policy, due_by, next_due
from langganan.subscriptions.timeline import timeline
from langganan.wallets.models import Wallet, WalletEntry

log = logging.getLogger("langganan")
T = TypeVar("T")
R = TypeVar("R")
# What a batch only ever inserts: its new rows are copied in bulk (kit.bulk.copy_new), parents first;
# and the rows it changes, written in bulk (kit.bulk.update_dirty).
INSERT_ONLY = (Invoice, InvoiceLine, Payment, PaymentReceipt, WalletEntry, SubscriptionPeriod)
CHANGED = (Subscription, Invoice, Payment, Wallet)
MAX_STEPS = 200  # per subscription and claim; a year of daily notices stays far below
# a renewal invoice in these states ends its period's renewal (rule 4)
LAPSED = (InvoiceStatus.EXPIRED, InvoiceStatus.FAILED)


@dataclass(frozen=True)
class Charge:
    """A committed pending card payment the runner charges after commit, and the engine instant
    its outcome is recorded at (the instant the renewal fell due)."""

    payment_id: str
    at: datetime


@dataclass
class Step:
    session: Work
    settings: Settings
    gateway: Gateway
    sub: Subscription
    when: datetime

    @property
    def account(self) -> Account:
        return accounts_repo.get(self.session, self.sub.account_id)

    def emit(self, type_: str, **data: object) -> None:
        events.emit(self.session, type_, self.sub.account_id,
                    {"subscription_id": self.sub.id, "plan": self.sub.plan_code, **data}, self.when)

    def renewal(self) -> Invoice | None:
        """The renewal invoice of the current period, unless canceled (the batch read them ahead)."""
        return invoices_repo.renewal_for(self.session, self.sub.id, self.sub.current_period_end)


def run_batch(session: Work, settings: Settings, gateway: Gateway, now: datetime, limit: int,
              skip: set[str], counts: Counter[str], *, more: Callable[[], bool] = lambda: True) -> list[Charge]:
    """Work through a batch of due subscriptions.

    What the steps read is read ahead for the batch, then `work_through` runs them all in one flush,
    or, if that fails, one subscription at a time; a subscription whose step fails then is logged
    and left for the next run (`skip` keeps this run from retrying it).

    The batch's invoices are numbered, and its events inserted, together at its end (still in its
    transaction): the month's invoice counter is then locked only for that moment, not for the
    whole batch, so two workers do not queue on it.

    `more` is asked before each subscription but the first; once it says no (the batch's time is up),
    the rest are left to the next batch, so a batch ends soon after its time however long the agendas."""
    subs = repository.due(session, now, limit, skip)
    if not subs:
        return []
    expiring = _read_ahead(session, subs, now)
    done: Counter[str] = Counter()

    def failed(sub: Subscription) -> None:
        log.exception("due work failed for subscription %s", sub.id,
                      extra={"subscription_id": sub.id, "account_id": sub.account_id})
        skip.add(sub.id)
        done["failed"] += 1

    begun: list[bool] = []  # whether this pass has processed a subscription

    def step(sub: Subscription) -> Charge | None:
        if begun and not more():
            return None
        begun.append(True)
        return process(session, settings, gateway, sub, now, done, expiring.get(sub.id, ()))

    def retry() -> None:
        done.clear()
        begun.clear()

    charges = work_through(session, subs, step, what="due subscriptions", failed=failed, on_retry=retry)
    counts.update(done)
    return charges


def _read_ahead(session: Work, subs: Sequence[Subscription], now: datetime) -> dict[str, list[Invoice]]:
    """What the steps read, for the whole batch at once: accounts, renewal invoices, add-ons, cards;
    returns the subscriptions' unpaid invoices that expire by `now` (locked), which their agendas
    expire in turn."""
    session.keep(accounts_repo.many(session, {s.account_id for s in subs}))
    invoices_repo.read_renewals_ahead(session, [(s.id, s.current_period_end) for s in subs])
    addons_repo.note_without_add_ons(session, [s.id for s in subs])
    cards = {s.payment_method_id for s in subs if s.payment_method_id}
    if cards:
        session.keep(payments_repo.methods_by_ids(session, cards))
    return repository.invoices_expiring_for(session, [s.id for s in subs], now)


def work_through(session: Work, items: Sequence[T], step: Callable[[T], R | None], *, what: str,
                 failed: Callable[[T], None], on_retry: Callable[[], None] = lambda: None) -> list[R]:
    """Apply `step` to each item of a due batch and collect what it returns (None left out).

    First all items in one savepoint with one flush at its end (`kit.db.one_flush`; on PostgreSQL the
    new and changed rows go in bulk). If anything in it fails, the savepoint rolls back, `on_retry`
    is called, and the items are done again one by one, each in its own savepoint; an item whose step
    fails then leaves nothing behind and is passed to `failed` (called inside the `except`). A database
    that is busy or unreachable (`kit.db.is_transient`: a lost connection, a deadlock) fails the whole
    transaction instead: it is raised, the caller's transaction rolls back and the batch is claimed again."""
    try:
        with session.begin_nested():
            return _pass(session, items, step, failed=None)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.warning("%d %s failed as a whole; going through them one by one", len(items), what, exc_info=True)
        on_retry()
        return _pass(session, items, step, failed=failed)


def _pass(session: Work, items: Sequence[T], step: Callable[[T], R | None], *,
          failed: Callable[[T], None] | None) -> list[R]:
    out: list[R] = []
    numbering.defer(session)  # numbered together at the end: the month's counter is locked only then
    try:
        if failed is None:
            with one_flush(session, copy=INSERT_ONLY, update=CHANGED):
                out = [result for item in items if (result := step(item)) is not None]
                numbering.assign_deferred(session)
            return out
        for item in items:
            try:
                with session.begin_nested():  # (rolled back, it takes its events and numbers with it)
                    result = step(item)
            except Exception as exc:
                if is_transient(exc):  # not the item's fault: the whole transaction goes
                    raise
                failed(item)
                continue
            if result is not None:
                out.append(result)
        numbering.assign_deferred(session)
        session.flush()
        return out
    finally:  # after an error the caller rolls back: whatever was deferred goes with it
        session.deferred = None


def process(session: Work, settings: Settings, gateway: Gateway, sub: Subscription, now: datetime,
            counts: Counter[str], expiring: Sequence[Invoice] = ()) -> Charge | None:
    """Run the subscription's due agenda items in time order; stop at a card charge, whose outcome
    decides what comes next. The subscription's unpaid invoices that expire by `now` (`expiring`, and
    a renewal invoice a step issues) expire in turn, each at its own instant, before the items due at
    or after it: catching up after days does what running every minute would have done."""
    policy = Policy.from_settings(settings)
    queue = list(expiring)
    for _ in range(MAX_STEPS):
        line = timeline(session, sub)
        items = due_by(line, policy, now)
        if items:
            lapsed = _next_expiry(session, sub, queue, now)
            if lapsed is not None and lapsed.expires_at is not None and lapsed.expires_at <= items[0].at:
                expire_invoice(session, lapsed)
                counts["invoice_expired"] += 1
                continue
        if not items:
            # a row claimed with nothing due (a stale next_due_at, e.g. after an upgrade) leaves with its
            # real next date, so it is not claimed again on every run
            sub.next_due_at = next_due(line, policy)
            return None
        item = items[0]
        # An item overdue when the subscription last changed (auto-renew switched off late, say)
        # happens at that change, not before it.
        when = max(item.at, sub.updated_at)
        charge = STEPS[item.kind](Step(session, settings, gateway, sub, when))
        sub.due_cursor = max(sub.due_cursor or when, when)
        counts[item.kind] += 1
        if charge is not None:
            return charge
    raise RuntimeError(f"subscription {sub.id}: its agenda did not settle in {MAX_STEPS} steps")


def _next_expiry(session: Work, sub: Subscription, queue: list[Invoice], now: datetime) -> Invoice | None:
    """The subscription's earliest unpaid invoice that expires by `now`: one read ahead for the batch,
    or the current period's renewal invoice (a step may have issued it)."""
    renewal = invoices_repo.renewal_for(session, sub.id, sub.current_period_end)
    if renewal is not None and renewal not in queue and renewal.expires_at is not None and renewal.expires_at <= now:
        queue.append(renewal)
    queue[:] = sorted((inv for inv in queue if inv.status == InvoiceStatus.UNPAID),
                      key=lambda inv: inv.expires_at or now)
    return queue[0] if queue else None


def expire_invoice(session: Work, invoice: Invoice) -> None:
    """An unpaid invoice's payment window lapsed: it expires at its own instant, with its open payments."""
    assert invoice.expires_at is not None
    invoices.expire(session, invoice, invoice.expires_at)
    payments.expire_pending(session, invoice, invoice.expires_at)


# -- steps -------------------------------------------------------------------------------------

def _period_end(s: Step) -> Charge | None:
    sub, session = s.sub, s.session
    at = sub.current_period_end
    default_plan = catalog_service.current(session).default_plan
    leaving = sub.cancel_at_period_end or sub.pending_plan == default_plan
    if sub.status == SubscriptionStatus.TRIALING:
        if _has_card(sub) and not leaving:
            return _charge(s, sub.plan_code, "month")
        subscriptions.to_free(session, sub, s.account, at, reason="trial_ended")
        return None
    if sub.plan_code == default_plan:
        subscriptions.roll_free(session, sub)
        return None
    renewal = s.renewal()
    if renewal is not None and renewal.status == InvoiceStatus.PAID:  # the next period was paid for: it is given, and a
        subscriptions.roll_renewed(session, sub, renewal)  # cancel or downgrade scheduled since applies at its end
        return None
    if leaving:
        subscriptions.to_free(session, sub, s.account, at,
                              reason="canceled" if sub.cancel_at_period_end else "downgraded")
        return None
    if renewal is not None and renewal.status in LAPSED:
        subscriptions.to_free(session, sub, s.account, at, reason="unpaid")
        return None
    if _has_card(sub):
        return _charge(s, *_next_plan(sub))
    if renewal is None:  # the one issued ahead was canceled, or the plan is no longer sold
        if _retired(s):
            subscriptions.to_free(session, sub, s.account, at, reason="plan_retired")
            return None
        renewal = _issue_bank_renewal(s)
        if renewal.status == InvoiceStatus.PAID:  # nothing to pay (a 100% promotion): rolled as it was issued
            return None
    # Bank transfer: past_due through the grace period; the renewal stays payable.
    sub.status = SubscriptionStatus.PAST_DUE
    sub.updated_at = max(sub.updated_at, s.when)
    s.emit("subscription.past_due", status=SubscriptionStatus.PAST_DUE, invoice_id=renewal.id,
           method=PaymentMethodType.BANK_TRANSFER,
           grace_ends_at=(at + timedelta(days=s.settings.grace_days)).isoformat())
    return None


def _card_retry(s: Step) -> Charge | None:
    return _charge(s, *_next_plan(s.sub))


def _grace_end(s: Step) -> None:
    """The payment window lapsed: the renewal expires and the account moves to Free."""
    renewal = s.renewal()
    if renewal is not None and renewal.status == InvoiceStatus.UNPAID:
        invoices.expire(s.session, renewal, s.when)
        payments.expire_pending(s.session, renewal, s.when)
    subscriptions.to_free(s.session, s.sub, s.account, s.when, reason="unpaid")


def _renewal_invoice(s: Step) -> None:
    s.sub.renewal_invoiced_for = s.sub.current_period_end
    if s.renewal() is None and not _retired(s):  # a plan no longer sold is not renewed: Free at period end
        _issue_bank_renewal(s)


def _renewal_reminder(s: Step) -> None:
    renewal = s.renewal()
    if renewal is not None and renewal.status == InvoiceStatus.UNPAID:
        left = s.sub.current_period_end - s.when
        s.emit("subscription.renewal_reminder", invoice_id=renewal.id, number=renewal.number,
               total=renewal.total, currency=renewal.currency,
               period_end=s.sub.current_period_end.isoformat(), days_left=round(left / timedelta(days=1)))


def _allotment(s: Step) -> None:
    subscriptions.roll_allotment(s.session, s.sub)


def _trial_will_end(s: Step) -> None:
    assert s.sub.trial_end is not None
    s.emit("trial.will_end", trial_end=s.sub.trial_end.isoformat(), converts=_has_card(s.sub))


def _promotion_ending(s: Step) -> None:
    terms = promotions.terms_for(s.session, s.sub)
    if terms is not None:
        s.emit("promotion.ending", code=terms.code, ends_at=terms.ends_at.isoformat(),
               redemption_id=s.sub.promotion_redemption_id)


def _promotion_ended(s: Step) -> None:
    promotions.end(s.session, s.sub, s.when, reason=RedemptionEndReason.EXPIRED)


STEPS: dict[str, Callable[[Step], Charge | None]] = {
    "period_end": _period_end, "card_retry": _card_retry, "grace_end": _grace_end,
    "renewal_invoice": _renewal_invoice, "renewal_reminder": _renewal_reminder, "allotment": _allotment,
    "trial_will_end": _trial_will_end, "promotion_ending": _promotion_ending, "promotion_ended": _promotion_ended,
}


# -- helpers -----------------------------------------------------------------------------------

def _has_card(sub: Subscription) -> bool:
    return bool(sub.auto_renew and sub.payment_method_id)


def _next_plan(sub: Subscription) -> tuple[str, str]:
    """What the next period is on: a scheduled downgrade to a paid plan renews at its price."""
    return sub.pending_plan or sub.plan_code, sub.pending_interval or sub.interval


def _retired(s: Step, plan_code: str | None = None) -> bool:
    """The plan the next period would be on is gone from the current catalog (rule 13: the catalog
    reaches a subscription at its renewal): the subscription is not renewed and moves to Free at
    period end (`subscription.downgraded`, reason `plan_retired`)."""
    return (plan_code or _next_plan(s.sub)[0]) not in catalog_service.current(s.session).plans


def _issue_bank_renewal(s: Step) -> Invoice:
    sub = s.sub
    plan, interval = _next_plan(sub)
    grace = timedelta(days=s.settings.grace_days)
    invoice = subscriptions.issue_renewal(s.session, s.settings, s.account, sub, s.when, plan_code=plan,
                                          interval=interval, expires_at=sub.current_period_end + grace)
    if invoice.status == InvoiceStatus.UNPAID:
        payments.start(s.session, s.settings, s.gateway, invoice, method=PaymentMethodType.BANK_TRANSFER,
                       payment_method_id=None,
                       bank=None, now=s.when, va_until_invoice_expires=True)
    return invoice


def _charge(s: Step, plan: str, interval: str) -> Charge | None:
    """Issue (or reuse) the renewal invoice and commit a pending card payment for it."""
    sub = s.sub
    invoice = s.renewal()
    if invoice is None:
        if _retired(s, plan):
            subscriptions.to_free(s.session, sub, s.account, s.when, reason="plan_retired")
            return None
        policy = Policy.from_settings(s.settings)
        window = timedelta(days=(policy.card_retry_days[-1] if policy.card_retry_days else 0) + 1)
        invoice = subscriptions.issue_renewal(s.session, s.settings, s.account, sub, s.when, plan_code=plan,
                                              interval=interval, expires_at=sub.current_period_end + window)
    if invoice.status == InvoiceStatus.PAID:  # nothing to pay (a 100% promotion): already rolled when it was issued
        if sub.current_period_end <= s.when:
            subscriptions.roll_renewed(s.session, sub, invoice)
        return None
    if invoice.status in LAPSED:  # its payment window is over: the period is not renewed (rule 4)
        subscriptions.to_free(s.session, sub, s.account, s.when, reason="unpaid")
        return None
    payment = payments.start(s.session, s.settings, s.gateway, invoice, method=PaymentMethodType.CARD,
                             payment_method_id=sub.payment_method_id, bank=None, now=s.when)
    sub.renewal_attempts += 1
    sub.renewal_payment_id, sub.charge_claimed_at = payment.id, wall_now()
    return Charge(payment.id, s.when)


def reclaim_stale_charges(session: Work, settings: Settings, limit: int) -> list[Charge]:
    """Renewal charges whose worker died between committing the payment and recording the outcome:
    charged again with the same idempotency key, so the gateway answers the first charge."""
    wall = wall_now()
    out: list[Charge] = []
    for sub in repository.stale_charges(session, wall - timedelta(seconds=settings.charge_lease_seconds), limit):
        payment = session.get(Payment, sub.renewal_payment_id)
        if payment is None or payment.status != PaymentStatus.PENDING:
            sub.renewal_payment_id = sub.charge_claimed_at = None  # its outcome was recorded, or it was replaced
            continue
        sub.charge_claimed_at = wall
        out.append(Charge(payment.id, payment.created_at))
    return out
