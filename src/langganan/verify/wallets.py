"""Wallets and usage: every movement explained by the ledger (DESIGN: Wallets, Usage; rules 6, 7)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from langganan.config import Settings
from langganan.usage.models import UsageEvent
from langganan.verify.violation import Violation
from langganan.wallets.models import EntryType, Reservation, ReservationStatus, Wallet, WalletEntry

SAMPLE = 20  # at most this many ids of one kind of violation are listed


def check(session: Session, _settings: Settings) -> list[Violation]:
    out: list[Violation] = []
    sums = {row.wallet_id: row for row in session.execute(
        select(WalletEntry.wallet_id, func.coalesce(func.sum(WalletEntry.amount), 0).label("amount"),
               func.coalesce(func.sum(WalletEntry.granted_amount), 0).label("granted"))
        .group_by(WalletEntry.wallet_id))}
    held: dict[str, int] = {row[0]: int(row[1]) for row in session.execute(
        select(Reservation.wallet_id, func.sum(Reservation.amount))
        .where(Reservation.status == ReservationStatus.HELD).group_by(Reservation.wallet_id))}
    for w in session.scalars(select(Wallet).order_by(Wallet.id)):
        ids = {"wallet_id": w.id, "account_id": w.account_id}
        row = sums.get(w.id)
        ledger, granted = (int(row.amount), int(row.granted)) if row else (0, 0)
        if ledger != w.balance:
            out.append(Violation("wallet_balance_mismatch", f"balance {w.balance} but the ledger sums to {ledger}",
                                 ids))
        if granted != w.granted_balance:
            out.append(Violation("wallet_granted_mismatch", f"granted balance {w.granted_balance} but the "
                                 f"ledger's granted parts sum to {granted}", ids))
        if not 0 <= w.granted_balance <= w.balance:
            out.append(Violation("wallet_granted_out_of_range", f"granted {w.granted_balance} outside 0..balance "
                                 f"{w.balance}", ids))
        if held.get(w.id, 0) != w.reserved:
            out.append(Violation("wallet_reserved_mismatch", f"reserved {w.reserved} but open holds sum to "
                                 f"{held.get(w.id, 0)}", ids))
    out += _ledger_chain(session)
    out += _usage(session)
    return out


def _ledger_chain(session: Session) -> list[Violation]:
    """Each entry's balance_after is the one before it plus its amount (entries in id order)."""
    before = func.lag(WalletEntry.balance_after, 1, 0).over(partition_by=WalletEntry.wallet_id,
                                                              order_by=WalletEntry.id)
    chained = select(WalletEntry.id, WalletEntry.wallet_id, WalletEntry.amount, WalletEntry.balance_after,
                     before.label("before")).subquery()
    rows = session.execute(select(chained).where(chained.c.balance_after != chained.c.before + chained.c.amount)
                           .order_by(chained.c.id).limit(SAMPLE)).all()
    return [Violation("ledger_chain_broken", f"entry {r.id}: balance_after {r.balance_after} but the entry before "
                      f"left {r.before} and this one moves {r.amount}", {"wallet_id": r.wallet_id,
                                                                          "entry_id": str(r.id)}) for r in rows]


def _usage(session: Session) -> list[Violation]:
    """Every accepted usage event is debited exactly once, by its price; no usage debit without its event."""
    out: list[Violation] = []
    debits = (select(WalletEntry.reference, func.count().label("n"), func.sum(WalletEntry.amount).label("amount"))
              .where(WalletEntry.type == EntryType.USAGE).group_by(WalletEntry.reference).subquery())
    for ev_id, n, amount, price in session.execute(
            select(UsageEvent.id, debits.c.n, debits.c.amount, UsageEvent.amount)
            .outerjoin(debits, debits.c.reference == UsageEvent.id)
            .where((debits.c.n.is_(None)) | (debits.c.n != 1) | (debits.c.amount != -UsageEvent.amount))
            .order_by(UsageEvent.id).limit(SAMPLE)):
        if n is None:
            out.append(Violation("usage_not_debited", "an accepted usage event has no ledger entry",
                                 {"usage_event_id": ev_id}))
        elif n != 1:
            out.append(Violation("usage_debited_twice", f"an accepted usage event has {n} ledger entries",
                                 {"usage_event_id": ev_id}))
        else:
            out.append(Violation("usage_amount_mismatch", f"the event costs {price} but its entry moves {amount}",
                                 {"usage_event_id": ev_id}))
    for ref, in session.execute(
            select(debits.c.reference).outerjoin(UsageEvent, UsageEvent.id == debits.c.reference)
            .where(UsageEvent.id.is_(None)).order_by(debits.c.reference).limit(SAMPLE)):
        out.append(Violation("usage_debit_without_event", "a usage debit refers to no accepted usage event",
                             {"reference": str(ref)}))
    return out
