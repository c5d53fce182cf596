"""Prepaid wallets (DESIGN rules 5, 6): every movement is a ledger entry carrying the balance after it,
written in the same transaction that updates the stored balance.

Granted (free) credit is spent first and expires at `granted_expires_at`; paid credit never expires.
An expired grant is written off lazily by whoever touches the wallet first (a debit, a grant, or the
due-work runner), so a late worker never lets expired credit be spent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from langganan.accounts.models import Account
from langganan.catalog.rules import WalletKind
from langganan.events import service as events
from langganan.kit.ids import new_id
from langganan.wallets import repository, watch
from langganan.wallets.models import EntryType, Wallet, WalletEntry
from langganan.wallets.repository import LockedWallet

KINDS = tuple(WalletKind)


def create_wallets(session: Session, account: Account, now: datetime) -> None:
    for kind in KINDS:
        session.add(Wallet(id=new_id("wal"), account_id=account.id, kind=kind, currency=account.currency,
                           balance=0, granted_balance=0, reserved=0, updated_at=now))
    session.flush()


def move(wallet: Wallet | LockedWallet, amount: int, granted: int, now: datetime) -> int:
    """Apply a movement to the locked wallet row; returns the balance after it. Never overdraws."""
    balance, granted_balance = wallet.balance + amount, wallet.granted_balance + granted
    if balance < 0 or granted_balance < 0 or granted_balance > balance:
        raise AssertionError(f"wallet {wallet.id} would break its invariants")
    wallet.balance, wallet.granted_balance, wallet.updated_at = balance, granted_balance, now
    return balance


def record(session: Session, wallet: Wallet, type_: EntryType, amount: int, now: datetime, *, granted: int = 0,
           meter: str | None = None, quantity: int | None = None, reference: str | None = None) -> WalletEntry:
    """Move the wallet by `amount` (of which `granted` is granted credit) and append its ledger entry."""
    watch.balances_moving(session, (wallet,), now)
    move(wallet, amount, granted, now)
    entry = WalletEntry(wallet_id=wallet.id, type=type_, amount=amount, granted_amount=granted,
                        balance_after=wallet.balance, meter=meter, quantity=quantity, reference=reference,
                        created_at=now)
    session.add(entry)
    if type_ in repository.SPEND_TYPES:
        repository.add_spend(session, {(wallet.id, spend_hour(now)): -amount})
    return entry


def spend_hour(at: datetime) -> datetime:
    """The UTC hour a ledger entry's spending is counted in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def expire_grant_if_due(session: Session, wallet: Wallet, now: datetime) -> None:
    if wallet.granted_expires_at is not None and wallet.granted_expires_at <= now:
        expire_grant(session, wallet, wallet.granted_expires_at)


def expire_grant(session: Session, wallet: Wallet, at: datetime) -> None:
    left = wallet.granted_balance
    wallet.granted_expires_at = None
    if left > 0:
        record(session, wallet, EntryType.EXPIRY, -left, at, granted=-left, reference="granted credit expired")
        events.emit(session, "wallet.grant_expired", wallet.account_id,
                    {"wallet": wallet.kind, "amount": left, "balance": wallet.balance}, at)


def grant(session: Session, wallet: Wallet, amount: int, expires_at: datetime, now: datetime, reference: str) -> None:
    """Add granted credit expiring at `expires_at`. A grant for another window first retires the old one."""
    if wallet.granted_expires_at is not None and wallet.granted_expires_at != expires_at:
        expire_grant(session, wallet, min(now, wallet.granted_expires_at))
    if amount <= 0:
        return
    wallet.granted_expires_at = expires_at
    record(session, wallet, EntryType.GRANT, amount, now, granted=amount, reference=reference)
    events.emit(session, "wallet.credit_granted", wallet.account_id,
                {"wallet": wallet.kind, "amount": amount, "expires_at": expires_at.isoformat()}, now)


def credit_top_up(session: Session, account_id: str, kind: WalletKind, amount: int, invoice_id: str,
                  now: datetime) -> None:
    """A paid top-up invoice becomes paid credit, which never expires."""
    wallet = repository.get(session, account_id, kind, for_update=True)
    record(session, wallet, EntryType.TOP_UP, amount, now, reference=invoice_id)
    events.emit(session, "wallet.topped_up", account_id,
                {"wallet": kind, "amount": amount, "balance": wallet.balance, "invoice_id": invoice_id}, now)
