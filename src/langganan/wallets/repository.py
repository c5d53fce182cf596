from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update

from langganan.kit.errors import NotFound
from langganan.kit.work import Work
from langganan.wallets.models import EntryType, Reservation, ReservationStatus, SpendHour, Wallet, WalletEntry

# Ledger entry types that count as spending (their negated amount is what was spent).
SPEND_TYPES = (EntryType.USAGE, EntryType.HOLD, EntryType.RELEASE, EntryType.CAPTURE)


ENTRY_FILTERS = {
    "usage": (EntryType.USAGE, EntryType.CAPTURE),
    "top_up": (EntryType.TOP_UP,),
    "grant": (EntryType.GRANT,),
    "expiry": (EntryType.EXPIRY,),
    "reservation": (EntryType.HOLD, EntryType.CAPTURE, EntryType.RELEASE),
    "adjustment": (EntryType.ADJUSTMENT,),
}


@dataclass
class LockedWallet:
    """A wallet row this transaction holds locked, read as plain values (the usage hot path; no ORM
    object). The ledger moves it and writes its new balances (`wallets.ledger.write`); its alert
    flags are written by notifications.alerts when they change."""

    id: str
    account_id: str
    kind: str
    currency: str
    balance: int
    granted_balance: int
    granted_expires_at: datetime | None
    low_balance_threshold: int | None
    low_balance_alerted: bool
    depleted_alerted: bool
    updated_at: datetime | None = None  # set when moved (the write stores its own time)


# the columns of LockedWallet, in its field order
LOCKED_COLUMNS = ("id", "account_id", "kind", "currency", "balance", "granted_balance", "granted_expires_at",
                  "low_balance_threshold", "low_balance_alerted", "depleted_alerted")


def set_alert_flags(session: Work, wallet: LockedWallet) -> None:
    table = cast(Table, Wallet.__table__)
    session.execute(update(table).where(table.c.id == wallet.id).values(
        low_balance_alerted=wallet.low_balance_alerted, depleted_alerted=wallet.depleted_alerted))


def for_account(session: Work, account_id: str) -> list[Wallet]:
    return list(session.scalars(select(Wallet).where(Wallet.account_id == account_id).order_by(Wallet.kind)))


def get(session: Work, account_id: str, kind: str, *, for_update: bool = False) -> Wallet:
    own = session.held(Wallet, (account_id, kind)) if for_update else None
    if own is not None:  # locked earlier in this transaction (the due runner's charge outcomes)
        return cast(Wallet, own)
    stmt = select(Wallet).where(Wallet.account_id == account_id, Wallet.kind == kind)
    if for_update:
        stmt = stmt.with_for_update()
    wallet = session.scalar(stmt)
    if wallet is None:
        raise NotFound("wallet", f"{account_id}/{kind}", param="kind")
    return wallet


def entries(session: Work, wallet_id: str, *, types: Sequence[str] | None, since: datetime | None,
            until: datetime | None, limit: int, before_id: int | None) -> tuple[list[WalletEntry], bool]:
    stmt = select(WalletEntry).where(WalletEntry.wallet_id == wallet_id)
    if types:
        stmt = stmt.where(WalletEntry.type.in_(types))
    if since is not None:
        stmt = stmt.where(WalletEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(WalletEntry.created_at < until)
    if before_id is not None:
        stmt = stmt.where(WalletEntry.id < before_id)
    rows = list(session.scalars(stmt.order_by(WalletEntry.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def reservation(session: Work, reservation_id: str, *, for_update: bool = False) -> Reservation:
    res = session.get(Reservation, reservation_id, with_for_update=for_update or None)
    if res is None:
        raise NotFound("reservation", reservation_id)
    return res


def expired_reservations(session: Work, now: datetime, limit: int) -> Sequence[Reservation]:
    return session.scalars(select(Reservation).where(Reservation.status == ReservationStatus.HELD,
                                                     Reservation.expires_at <= now)
                           .order_by(Reservation.expires_at).limit(limit).with_for_update(skip_locked=True)).all()


def spend_by_hour(session: Work, wallet_id: str, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    return [(row.hour, row.amount) for row in session.execute(
        select(SpendHour.hour, SpendHour.amount).where(SpendHour.wallet_id == wallet_id, SpendHour.hour >= since,
                                                       SpendHour.hour < until))]
