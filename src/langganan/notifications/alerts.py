"""Usage alerts: low balance, depleted, and 80% / 100% of each quota (users, contacts, broadcasts).

The money writers note wallet balances and broadcast counts before they move them (`wallets.watch`,
on the unit of work); `on_commit` is the commit step that decides them on the transaction's net
movement, once, in the same transaction, with the rules of notifications.rules. Users and contacts
are decided when the SaaS reports them (`counts_changed`).
The hot path stays cheap: before and after are compared in memory on rows the caller already holds
locked, and the database is written only when an alert fires or re-arms. Wallet alert state lives
on the wallet row; quota alert state in `quota_alerts`, per allotment period. A wallet is watched
either as its ORM object or as a `LockedWallet` (plain values, the usage hot path), whose changed
flags are written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import InstanceState
from sqlalchemy.orm.exc import ObjectDeletedError

from langganan.accounts.models import Account
from langganan.events import service as events
from langganan.kit.work import Step, Work
from langganan.notifications import repository, rules
from langganan.notifications.models import QuotaAlert
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.service import broadcast_limit
from langganan.wallets import watch
from langganan.wallets.models import Wallet
from langganan.wallets.repository import LockedWallet, set_alert_flags
from langganan.wallets.rules import low_balance_threshold

AnyWallet = Wallet | LockedWallet

def wallet_moved(session: Work, wallet: AnyWallet, before: int, defaults: Mapping[str, int],
                 now: datetime) -> None:
    """The locked wallet's balance moved from `before` to `wallet.balance`: fire or re-arm its alerts
    (`defaults`: the deployment's thresholds by wallet kind, for wallets without their own)."""
    after = wallet.balance
    if after == before:
        return
    threshold = low_balance_threshold(wallet, defaults)
    decision = rules.wallet_alerts(before, after, threshold, low_alerted=wallet.low_balance_alerted,
                                   depleted_alerted=wallet.depleted_alerted)
    if decision.low_alerted != wallet.low_balance_alerted:
        wallet.low_balance_alerted = decision.low_alerted
    if decision.depleted_alerted != wallet.depleted_alerted:
        wallet.depleted_alerted = decision.depleted_alerted
    for type_ in decision.fire:
        events.emit(session, type_, wallet.account_id,
                    {"account_id": wallet.account_id, "wallet": wallet.kind, "balance": after,
                     "threshold": threshold, "currency": wallet.currency}, now)


def quota_moved(session: Work, account_id: str, quota: str, before: int, after: int, limit: int,
                period_start: datetime | None, now: datetime) -> None:
    """Use of `quota` moved from `before` to `after` of `limit`; the account's row is held locked."""
    up, down = rules.quota_crossings(before, after, limit)
    if not up and not down:
        return
    rows = repository.quota_alerts(session, account_id, quota)
    alerted = [level for level, row in rows.items() if row.period_start == period_start]
    decision = rules.quota_alerts(before, after, limit, alerted)
    for level in decision.rearm:
        session.delete(rows[level])
    for level in decision.mark:
        row = rows.get(level)
        if row is None:
            session.add(QuotaAlert(account_id=account_id, quota=quota, level=level, period_start=period_start,
                                   alerted_at=now))
        else:
            row.period_start, row.alerted_at = period_start, now
    for level in decision.fire:
        events.emit(session, "quota.threshold_reached", account_id,
                    {"account_id": account_id, "quota": quota, "threshold": level, "used": after, "limit": limit,
                     "period_start": period_start.isoformat() if period_start else None}, now)


def counts_changed(session: Work, account: Account, users_before: int, contacts_before: int,
                   now: datetime) -> None:
    """After `PUT usage-counts`: users and contacts against the plan's limits plus add-ons."""
    if (account.users_count, account.contacts_count) == (users_before, contacts_before):
        return
    from langganan.entitlements.service import limits_for

    sub = subs_repo.for_account(session, account.id)
    _plan, _features, limits, _resets = limits_for(session, account, sub)
    quota_moved(session, account.id, "users", users_before, account.users_count, limits["users"].limit,
                sub.allotment_start, now)
    quota_moved(session, account.id, "contacts", contacts_before, account.contacts_count,
                limits["contacts"].limit, sub.allotment_start, now)


def on_commit(defaults: Mapping[str, int]) -> Step:
    """The commit step that decides the usage alerts of what the transaction moved (`wallets.watch`):
    each wallet on its net movement (a period roll that expires the old grant and grants the new one
    is one movement, not a dip to zero), each subscription's broadcasts likewise. `defaults` are the
    deployment's low-balance thresholds by wallet kind (LANGGANAN_LOW_BALANCE_*)."""

    def step(work: Work) -> None:
        moved, work.before = work.before, {}
        for (kind, _key), seen in moved.items():
            if kind == watch.BALANCE:
                _wallet_moved(work, seen.obj, seen.value, defaults, seen.at)
            elif kind == watch.BROADCASTS:
                _broadcasts_moved(work, seen.obj, seen.value, seen.at)

    return step


def _wallet_moved(session: Work, wallet: AnyWallet, before: int, defaults: Mapping[str, int],
                  now: datetime) -> None:
    if isinstance(wallet, LockedWallet):
        flags = wallet.low_balance_alerted, wallet.depleted_alerted
        wallet_moved(session, wallet, before, defaults, now)
        if (wallet.low_balance_alerted, wallet.depleted_alerted) != flags:
            set_alert_flags(session, wallet)
    elif not _gone(wallet):
        wallet_moved(session, wallet, before, defaults, now)


def _broadcasts_moved(session: Work, sub: Subscription, used: int, now: datetime) -> None:
    if not _gone(sub) and sub.broadcasts_used > used:
        quota_moved(session, sub.account_id, "broadcasts", used, sub.broadcasts_used,
                    broadcast_limit(session, sub), sub.allotment_start, now)


def _gone(row: Wallet | Subscription) -> bool:
    """Its row was inserted in a savepoint that rolled back (a failed row of a batch or an import):
    there is nothing to decide. (It may still look persistent, all expired: loading it says.)"""
    state: InstanceState[Any] = inspect(row)
    if not state.persistent:
        return True
    try:
        _ = row.id  # loads an expired row
    except ObjectDeletedError:
        return True
    return False
