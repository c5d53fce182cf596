"""Prepaid wallets (DESIGN rules 5, 6): what moves a wallet and why. Every movement goes through the
ledger (`wallets.ledger`), which writes its entry carrying the balance after it in the same
transaction that updates the stored balance.

Granted (free) credit is spent first and expires at `granted_expires_at`; paid credit never expires.
An expired grant is written off lazily by whoever touches the wallet first (a debit, a grant, or the
due-work runner), so a late worker never lets expired credit be spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from langganan.accounts.models import Account
from langganan.catalog.rules import WalletKind
from langganan.events import service as events
from langganan.kit.errors import Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.wallets import ledger, repository, rules
from langganan.wallets.ledger import AnyWallet, Movement
from langganan.wallets.models import EntryType, Wallet

KINDS = tuple(WalletKind)


def create_wallets(session: Work, account: Account, now: datetime) -> None:
    for kind in KINDS:
        session.add(Wallet(id=new_id("wal"), account_id=account.id, kind=kind, currency=account.currency,
                           balance=0, granted_balance=0, reserved=0, updated_at=now))
    session.flush()


def record(session: Work, wallet: AnyWallet, type_: EntryType, amount: int, now: datetime, *, granted: int = 0,
           meter: str | None = None, quantity: int | None = None, reference: str | None = None) -> int:
    """Move the wallet by `amount` (of which `granted` is granted credit) with its ledger entry; returns
    the balance after it."""
    (after,) = ledger.post(session, [Movement(wallet, type_, amount, granted, meter, quantity, reference)], now)
    return after


def expire_grant_if_due(session: Work, wallet: AnyWallet, now: datetime) -> None:
    if wallet.granted_expires_at is not None and wallet.granted_expires_at <= now:
        expire_grant(session, wallet, wallet.granted_expires_at)


def expire_grant(session: Work, wallet: AnyWallet, at: datetime) -> None:
    left = wallet.granted_balance
    wallet.granted_expires_at = None
    if left > 0:
        record(session, wallet, EntryType.EXPIRY, -left, at, granted=-left, reference="granted credit expired")
        events.emit(session, "wallet.grant_expired", wallet.account_id,
                    {"wallet": wallet.kind, "amount": left, "balance": wallet.balance}, at)


def grant(session: Work, wallet: Wallet, amount: int, expires_at: datetime, now: datetime, reference: str) -> None:
    """Add granted credit expiring at `expires_at`. A grant for another window first retires the old one."""
    if wallet.granted_expires_at is not None and wallet.granted_expires_at != expires_at:
        expire_grant(session, wallet, min(now, wallet.granted_expires_at))
    if amount <= 0:
        return
    wallet.granted_expires_at = expires_at
    record(session, wallet, EntryType.GRANT, amount, now, granted=amount, reference=reference)
    events.emit(session, "wallet.credit_granted", wallet.account_id,
                {"wallet": wallet.kind, "amount": amount, "expires_at": expires_at.isoformat()}, now)


def credit_top_up(session: Work, account_id: str, kind: WalletKind, amount: int, invoice_id: str,
                  now: datetime) -> None:
    """A paid top-up invoice becomes paid credit, which never expires."""
    wallet = repository.get(session, account_id, kind, for_update=True)
    record(session, wallet, EntryType.TOP_UP, amount, now, reference=invoice_id)
    events.emit(session, "wallet.topped_up", account_id,
                {"wallet": kind, "amount": amount, "balance": wallet.balance, "invoice_id": invoice_id}, now)


def adjust(session: Work, account_id: str, kind: str, amount: int, *, deduct: bool, reference: str,
           now: datetime) -> Wallet:
    """An operator grants `amount` of paid credit to the account's `kind` wallet, or deducts it (paid credit
    first, never below zero: `rules.adjustment`), as one ledger adjustment carrying `reference` (the
    console's audit entry)."""
    if kind not in KINDS:
        raise Unprocessable("invalid_wallet", "The wallet must be 'conversation' or 'broadcast'.", param="wallet")
    wallet = repository.get(session, account_id, kind, for_update=True)
    expire_grant_if_due(session, wallet, now)  # expired free credit is not there to deduct
    moved, granted = rules.adjustment(wallet.balance, wallet.granted_balance, amount, deduct)
    record(session, wallet, EntryType.ADJUSTMENT, moved, now, granted=granted, reference=reference)
    events.emit(session, "wallet.adjusted", account_id,
                {"wallet": kind, "amount": moved, "balance": wallet.balance, "reference": reference}, now)
    return wallet


def set_low_balance_threshold(wallet: Wallet, threshold: int | None, defaults: Mapping[str, int]) -> None:
    """The wallet's own low-balance threshold (None: the deployment's `defaults` by kind); one below the
    balance re-arms the low-balance alert."""
    wallet.low_balance_threshold = threshold
    if wallet.balance > rules.low_balance_threshold(wallet, defaults):
        wallet.low_balance_alerted = False
