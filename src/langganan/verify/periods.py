"""Subscription periods (subscriptions/history.py): every stretch of time a subscription spends on a
plan is explained, none overlaps another, and every paid plan invoice is used once (rules 1-5, 8, 12)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from langganan.audit.models import AuditEntry
from langganan.catalog.models import CatalogVersion
from langganan.catalog.service import get as catalog_version
from langganan.config import Settings
from langganan.invoices.actions import InvoiceAction, PurchaseAction, RenewalAction, UpgradeAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.work import Work
from langganan.subscriptions.history import COMP_ACTION, PeriodKind
from langganan.subscriptions.models import Subscription, SubscriptionPeriod, SubscriptionStatus
from langganan.subscriptions.rules import MAX_FREE_DAYS
from langganan.verify.violation import Violation

PLAN_INVOICES = (InvoiceType.SUBSCRIPTION, InvoiceType.PLAN_CHANGE, InvoiceType.RENEWAL)
# the longest one interval can be (a 31-day month or a leap year, plus an hour a DST change may add)
LONGEST = {"month": timedelta(days=31, hours=1), "year": timedelta(days=366, hours=1)}
# the longest free time an operator gives at once (`comp` rows): MAX_FREE_DAYS or one interval
FREE_TIME = {i: max(longest, timedelta(days=MAX_FREE_DAYS, hours=1)) for i, longest in LONGEST.items()}


def check(session: Work, settings: Settings) -> list[Violation]:
    catalogs = [catalog_version(session, cid) for cid in session.scalars(select(CatalogVersion.id))]
    free_plans = {c.default_plan for c in catalogs}
    trial_plans = {c.trial_plan for c in catalogs}
    longest_grace = timedelta(days=max(settings.grace_days, *settings.card_retry_days, 0))
    rows: dict[str, list[SubscriptionPeriod]] = defaultdict(list)
    for row in session.scalars(select(SubscriptionPeriod).order_by(SubscriptionPeriod.subscription_id,
                                                                   SubscriptionPeriod.id)):
        rows[row.subscription_id].append(row)
    invoices = {inv.id: inv for inv in session.scalars(
        select(Invoice).where(Invoice.subscription_id.is_not(None), Invoice.type.in_(PLAN_INVOICES))
        .options(lazyload(Invoice.lines)))}
    by_sub: dict[str, list[Invoice]] = defaultdict(list)
    for inv in invoices.values():
        by_sub[str(inv.subscription_id)].append(inv)
    used: Counter[str] = Counter()
    comps_given = Counter({str(target): int(n) for target, n in session.execute(
        select(AuditEntry.target_id, func.count()).where(AuditEntry.action == COMP_ACTION)
        .group_by(AuditEntry.target_id))})
    out: list[Violation] = []
    for sub in session.scalars(select(Subscription).order_by(Subscription.id)):
        history = rows.get(sub.id, [])
        if not history:
            out.append(Violation("period_history_missing", "the subscription has no period history",
                                 {"subscription_id": sub.id}))
            continue
        out += _sequence(sub, history, free_plans)
        comps = [r for r in history if r.kind == PeriodKind.COMP]
        if len(comps) > comps_given[sub.id]:
            out.append(Violation("period_unexplained", f"{len(comps)} periods of free time but {comps_given[sub.id]} "
                                 f"{COMP_ACTION} entries in the audit log", _ids(sub, comps[-1])))
        ends = [r.starts_at for r in history[1:]] + [sub.current_period_end]
        for row, end in zip(history, ends, strict=True):
            out += _explained(sub, row, end, invoices, free_plans, trial_plans, longest_grace)
            if row.kind == PeriodKind.PAID and row.invoice_id:
                used[row.invoice_id] += 1
        out += _invoices_used(sub, history, by_sub.get(sub.id, []), used)
    return out


def _ids(sub: Subscription, row: SubscriptionPeriod | None = None, **more: str | None) -> dict[str, str]:
    ids = {"subscription_id": sub.id, "account_id": sub.account_id}
    if row is not None:
        ids["period_id"] = row.id
    ids.update({k: v for k, v in more.items() if v is not None})
    return ids


def _sequence(sub: Subscription, history: list[SubscriptionPeriod], free_plans: set[str]) -> list[Violation]:
    out: list[Violation] = []
    for before, row in pairwise(history):
        if row.starts_at < before.starts_at:
            out.append(Violation("period_overlap", f"a period starting {row.starts_at.isoformat()} was recorded "
                                 f"after one starting {before.starts_at.isoformat()}", _ids(sub, row)))
    last = history[-1]
    kind = last.kind
    state_kind = (PeriodKind.TRIAL if sub.status == SubscriptionStatus.TRIALING
                  else PeriodKind.FREE if sub.plan_code in free_plans
                  else None)
    fits = (last.plan_code, last.interval) == (sub.plan_code, sub.interval) and (
        kind == PeriodKind.OPENING or (kind == state_kind if state_kind is not None
                                       else kind in (PeriodKind.PAID, PeriodKind.MIGRATED, PeriodKind.COMP)))
    if kind != PeriodKind.OPENING and not sub.current_period_start <= last.starts_at <= sub.current_period_end:
        fits = False
    if not fits:
        out.append(Violation("period_state_mismatch", f"the history ends on {last.plan_code}/{last.interval} "
                             f"({kind}) from {last.starts_at.isoformat()}, the subscription is on {sub.plan_code}/"
                             f"{sub.interval} ({sub.status}) for [{sub.current_period_start.isoformat()}, "
                             f"{sub.current_period_end.isoformat()})", _ids(sub, last)))
    return out


def _explained(sub: Subscription, row: SubscriptionPeriod, end: datetime, invoices: dict[str, Invoice],
               free_plans: set[str], trial_plans: set[str], longest_grace: timedelta) -> list[Violation]:
    """Why the subscription was on this plan from row.starts_at to `end`."""
    inv = invoices.get(row.invoice_id) if row.invoice_id else None
    ids = _ids(sub, row, invoice_id=row.invoice_id)
    span = f"[{row.starts_at.isoformat()}, {end.isoformat()})"
    problem: str | None = None
    if row.kind == PeriodKind.PAID:
        if inv is None or inv.subscription_id != sub.id:
            problem = "no invoice of this subscription pays for it"
        elif inv.status != InvoiceStatus.PAID:
            problem = f"its invoice {inv.number} is {inv.status}"
        elif _plan_of(inv.action) != (row.plan_code, row.interval):
            plan, interval = _plan_of(inv.action)
            problem = f"its invoice {inv.number} is for {plan}/{interval}"
        elif isinstance(inv.action, PurchaseAction):  # its period starts when it is paid, one interval long
            if inv.paid_at != row.starts_at or end - row.starts_at > LONGEST[row.interval]:
                problem = (f"its purchase invoice {inv.number} was paid at {_iso(inv.paid_at)} for one "
                           f"{row.interval}")
        elif inv.period_start is None or inv.period_end is None or not (
                inv.period_start <= row.starts_at and end <= inv.period_end):
            problem = (f"its invoice {inv.number} covers [{_iso(inv.period_start)}, {_iso(inv.period_end)})")
    elif row.kind == PeriodKind.MIGRATED:
        if inv is None or inv.subscription_id != sub.id or inv.status != InvoiceStatus.WAIVED:
            problem = "no waived postpaid month of this subscription explains it"
    elif row.kind == PeriodKind.GRACE:
        if (inv is None or inv.type != InvoiceType.RENEWAL or inv.subscription_id != sub.id
                or inv.period_start != row.starts_at):
            problem = "no renewal invoice of the period it follows explains it"
        elif inv.status not in (InvoiceStatus.EXPIRED, InvoiceStatus.FAILED):
            problem = f"its renewal {inv.number} is {inv.status}, not lapsed"
        elif end - row.starts_at > longest_grace:
            problem = f"it lasted longer than the longest grace or card retry window ({longest_grace.days} days)"
    elif row.kind == PeriodKind.COMP:  # the rest of a paid period, lengthened by an operator (no invoice)
        if row.plan_code in free_plans:
            problem = "free time on the free plan"
        elif inv is not None and (inv.subscription_id != sub.id
                                  or inv.status not in (InvoiceStatus.PAID, InvoiceStatus.WAIVED)):
            problem = f"the invoice of the period it lengthens, {inv.number}, is {inv.status}"
        elif end - row.starts_at > LONGEST[row.interval] + FREE_TIME[row.interval]:
            problem = "it lasted longer than a period and the longest free time"
    elif row.kind == PeriodKind.TRIAL:
        if row.plan_code not in trial_plans or row.invoice_id is not None:
            problem = f"a trial on {row.plan_code} with invoice {row.invoice_id}"
    elif row.kind == PeriodKind.FREE:
        if row.plan_code not in free_plans or row.invoice_id is not None:
            problem = f"a free period on {row.plan_code} with invoice {row.invoice_id}"
    elif row.kind != PeriodKind.OPENING:
        problem = f"unknown kind {row.kind!r}"
    if problem is None:
        return []
    return [Violation("period_unexplained", f"{row.kind} period {span} on {row.plan_code}/{row.interval}: {problem}",
                      ids)]


def _plan_of(action: InvoiceAction) -> tuple[str | None, str | None]:
    """The plan and interval a plan invoice's action is for; (None, None) for any other action."""
    if isinstance(action, PurchaseAction | UpgradeAction | RenewalAction):
        return action.plan, action.interval
    return None, None


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _invoices_used(sub: Subscription, history: list[SubscriptionPeriod], invoices: list[Invoice],
                   used: Counter[str]) -> list[Violation]:
    """A paid plan invoice buys one period: used by exactly one paid row, except a renewal paid ahead
    (its period has not started), a renewal paid ahead and forfeited by an immediate cancel before its
    period began (rule 3: an immediate cancel refunds nothing) and invoices from before the history began."""
    began = history[0].recorded_at if history[0].kind == PeriodKind.OPENING else None
    trials = sum(1 for r in history if r.kind == PeriodKind.TRIAL)
    out: list[Violation] = []
    if trials > 1:
        out.append(Violation("trial_twice", f"{trials} trial periods", _ids(sub)))
    for inv in invoices:
        if inv.status != InvoiceStatus.PAID or (began is not None and inv.issued_at <= began):
            continue
        n = used[inv.id]
        ahead = inv.type == InvoiceType.RENEWAL and inv.period_start == sub.current_period_end and n == 0
        forfeited = inv.type == InvoiceType.RENEWAL and n == 0 and inv.paid_at is not None \
            and inv.period_start is not None \
            and any(r.kind == PeriodKind.FREE and inv.paid_at <= r.starts_at < inv.period_start for r in history)
        if n != 1 and not (ahead or forfeited):
            out.append(Violation("paid_invoice_unused" if n == 0 else "paid_invoice_used_twice",
                                 f"paid {inv.type} invoice {inv.number} pays for {n} periods",
                                 _ids(sub, invoice_id=inv.id)))
    return out
