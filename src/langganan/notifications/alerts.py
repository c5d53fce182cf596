"""Usage alerts: low balance, depleted, and 80% / 100% of each quota (users, contacts, broadcasts).

Wallet balances and broadcast counts are watched (`watch`) before a transaction moves them, and
decided on their net movement when it commits, in the same transaction, with the rules of
notifications.rules. Users and contacts are decided when the SaaS reports them (`counts_changed`).
The hot path stays cheap: before and after are compared in memory on rows the caller already holds
locked, and the database is written only when an alert fires or re-arms. Wallet alert state lives
on the wallet row; quota alert state in `quota_alerts`, per allotment period. A wallet is watched
either as its ORM object or as a `LockedWallet` (plain values, the usage hot path), whose changed
flags are written here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, Session, SessionTransaction
from sqlalchemy.orm.exc import ObjectDeletedError

from langganan.accounts.models import Account
from langganan.config import DEFAULT_LOW_BALANCE, Settings
from langganan.events import service as events
from langganan.notifications import repository, rules
from langganan.notifications.models import QuotaAlert
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.models import Subscription
from langganan.wallets.models import Wallet
from langganan.wallets.repository import LockedWallet, set_alert_flags

AnyWallet = Wallet | LockedWallet

_default_thresholds: dict[str, int] = dict(DEFAULT_LOW_BALANCE)


def configure(settings: Settings) -> None:
    """Take the deployment's default low-balance thresholds (LANGGANAN_LOW_BALANCE_*); called at start-up."""
    _default_thresholds.clear()
    _default_thresholds.update(settings.low_balance_thresholds)


def low_balance_threshold(wallet: AnyWallet) -> int:
    if wallet.low_balance_threshold is not None:
        return wallet.low_balance_threshold
    return _default_thresholds.get(wallet.kind, 0)


def wallet_moved(session: Session, wallet: AnyWallet, before: int, now: datetime) -> None:
    """The locked wallet's balance moved from `before` to `wallet.balance`: fire or re-arm its alerts."""
    after = wallet.balance
    if after == before:
        return
    threshold = low_balance_threshold(wallet)
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


def threshold_changed(wallet: Wallet) -> None:
    """A new threshold below the balance re-arms the low-balance alert."""
    if wallet.balance > low_balance_threshold(wallet):
        wallet.low_balance_alerted = False


def quota_moved(session: Session, account_id: str, quota: str, before: int, after: int, limit: int,
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


def counts_changed(session: Session, account: Account, users_before: int, contacts_before: int,
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


_KEY = "langganan.usage_alerts"


@dataclass
class _Watched:
    now: datetime
    wallets: dict[str, tuple[AnyWallet, int]] = field(default_factory=dict)
    broadcasts: dict[str, tuple[Subscription, int]] = field(default_factory=dict)


def watch(session: Session, now: datetime, wallets: Iterable[AnyWallet] = (),
          subs: Iterable[Subscription] = ()) -> None:
    """Remember these rows' balance / broadcast count before the transaction moves them.

    The alerts are decided once, when the transaction commits, on its net movement: a period roll
    that expires the old grant and grants the new one is one movement, not a dip to zero.
    """
    watched: _Watched | None = session.info.get(_KEY)
    if watched is None:
        watched = session.info[_KEY] = _Watched(now)
    watched.now = max(watched.now, now)
    for w in wallets:
        watched.wallets.setdefault(w.id, (w, w.balance))
    for sub in subs:
        watched.broadcasts.setdefault(sub.id, (sub, sub.broadcasts_used))


@event.listens_for(Session, "before_commit")
def _alert_on_commit(session: Session) -> None:
    watched: _Watched | None = session.info.pop(_KEY, None)
    if watched is None:
        return
    for wallet, before in watched.wallets.values():
        if isinstance(wallet, LockedWallet):
            flags = wallet.low_balance_alerted, wallet.depleted_alerted
            wallet_moved(session, wallet, before, watched.now)
            if (wallet.low_balance_alerted, wallet.depleted_alerted) != flags:
                set_alert_flags(session, wallet)
            continue
        if _gone(wallet):
            continue
        wallet_moved(session, wallet, before, watched.now)
    for sub, used in watched.broadcasts.values():
        if not _gone(sub) and sub.broadcasts_used > used:
            from langganan.usage.service import broadcast_limit  # usage imports this module

            quota_moved(session, sub.account_id, "broadcasts", used, sub.broadcasts_used,
                        broadcast_limit(session, sub), sub.allotment_start, watched.now)


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


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (a rollback leaves nothing to decide)
        session.info.pop(_KEY, None)
