"""Wallets and usage: every movement explained by the ledger (DESIGN: Wallets, Usage; rules 6, 7)."""

from __future__ import annotations

from sqlalchemy import func, select

from langganan.config import Settings
from langganan.kit.work import Work
from langganan.verify.violation import Violation
from langganan.wallets.models import EntryType, Reservation, ReservationStatus, Wallet, WalletEntry

SAMPLE = 20  # at most this many ids of one kind of violation are listed


def check(session: Work, _settings: Settings) -> list[Violation]:
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


def _ledger_chain(session: Work) -> list[Violation]:
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


def _usage(session: Work) -> list[Violation]:
    """Every accepted usage event is debited exactly once: it is stored as its usage debit, one ledger
    entry keyed by the event id (a unique index keeps a second one out; this says if one got in), which
    carries the event (its id, body hash, meter and quantity) and takes money out, granted credit first
    within it."""
    out: list[Violation] = []
    usage = WalletEntry.type == EntryType.USAGE
    for ref, n in session.execute(
            select(WalletEntry.reference, func.count()).where(usage, WalletEntry.reference.is_not(None))
            .group_by(WalletEntry.reference).having(func.count() > 1).order_by(WalletEntry.reference).limit(SAMPLE)):
        out.append(Violation("usage_debited_twice", f"usage event {ref} has {n} ledger entries",
                             {"usage_event_id": str(ref)}))
    for entry_id, wallet_id in session.execute(
            select(WalletEntry.id, WalletEntry.wallet_id)
            .where(usage, WalletEntry.reference.is_(None) | WalletEntry.body_hash.is_(None)
                   | WalletEntry.meter.is_(None) | WalletEntry.quantity.is_(None) | (WalletEntry.quantity < 1))
            .order_by(WalletEntry.id).limit(SAMPLE)):
        out.append(Violation("usage_debit_without_event", "a usage debit does not carry its event (id, body hash, "
                             "meter, quantity)", {"wallet_id": wallet_id, "entry_id": str(entry_id)}))
    for entry_id, wallet_id, amount, granted in session.execute(
            select(WalletEntry.id, WalletEntry.wallet_id, WalletEntry.amount, WalletEntry.granted_amount)
            .where(usage, (WalletEntry.amount > 0) | (WalletEntry.granted_amount > 0)
                   | (WalletEntry.granted_amount < WalletEntry.amount))
            .order_by(WalletEntry.id).limit(SAMPLE)):
        out.append(Violation("usage_amount_mismatch", f"a usage debit moves {amount} (granted part {granted}): "
                             "it must take money out, its granted part within it",
                             {"wallet_id": wallet_id, "entry_id": str(entry_id)}))
    return out
