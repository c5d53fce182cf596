"""What the reactions to money movements watch: a writer notes a wallet's balance or a subscription's
broadcast count before it moves them, on the unit of work (`kit.work.Work.remember`), and the usage
alerts (notifications.alerts, a commit step) decide once, on the transaction's net movement. The
writers do not call the reactions: they only leave this note."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from langganan.kit.work import Work

BALANCE = "wallet.balance"  # key: wallet id; the wallet (ORM object or the usage path's LockedWallet)
BROADCASTS = "subscription.broadcasts_used"  # key: subscription id; the Subscription


def balances_moving(session: Work, wallets: Iterable[Any], now: datetime) -> None:
    """These locked wallets' balances are about to move at `now`."""
    for wallet in wallets:
        session.remember(BALANCE, wallet.id, wallet, wallet.balance, now)


def broadcasts_moving(session: Work, subs: Iterable[Any], now: datetime) -> None:
    """These locked subscriptions' broadcast counts are about to move at `now`."""
    for sub in subs:
        session.remember(BROADCASTS, sub.id, sub, sub.broadcasts_used, now)
