"""`langganan verify`: recompute the invariants the books rest on and report every violation.

- each wallet's balance equals the sum of its ledger entries, and its granted balance the sum of
  their granted parts, with 0 <= granted <= balance;
- each wallet's `reserved` equals what its open reservations hold;
- every accepted usage event has its ledger entry;
- every invoice's subtotal, discount and total follow from its lines and tax.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from langganan.invoices.models import Invoice, InvoiceLine
from langganan.usage.models import UsageEvent
from langganan.wallets.models import Reservation, Wallet, WalletEntry


def violations(session: Session) -> list[str]:
    out: list[str] = []
    sums = {row.wallet_id: row for row in session.execute(
        select(WalletEntry.wallet_id, func.coalesce(func.sum(WalletEntry.amount), 0).label("amount"),
               func.coalesce(func.sum(WalletEntry.granted_amount), 0).label("granted"))
        .group_by(WalletEntry.wallet_id))}
    held: dict[str, int] = {row[0]: int(row[1]) for row in session.execute(
        select(Reservation.wallet_id, func.sum(Reservation.amount))
                                .where(Reservation.status == "held").group_by(Reservation.wallet_id))}
    for w in session.scalars(select(Wallet)):
        row = sums.get(w.id)
        ledger, granted = (int(row.amount), int(row.granted)) if row else (0, 0)
        if ledger != w.balance:
            out.append(f"wallet {w.id}: balance {w.balance} but ledger sums to {ledger}")
        if granted != w.granted_balance:
            out.append(f"wallet {w.id}: granted balance {w.granted_balance} but ledger grants sum to {granted}")
        if not 0 <= w.granted_balance <= w.balance:
            out.append(f"wallet {w.id}: granted {w.granted_balance} outside 0..balance {w.balance}")
        if int(held.get(w.id, 0) or 0) != w.reserved:
            out.append(f"wallet {w.id}: reserved {w.reserved} but open holds sum to {held.get(w.id, 0)}")
    missing = session.scalar(select(func.count()).select_from(UsageEvent).where(
        ~select(WalletEntry.id).where(WalletEntry.reference == UsageEvent.id, WalletEntry.type == "usage")
        .exists()))
    if missing:
        out.append(f"{missing} usage events have no ledger entry")
    lines = {row.invoice_id: row for row in session.execute(
        select(InvoiceLine.invoice_id,
               func.coalesce(func.sum(InvoiceLine.amount).filter(InvoiceLine.kind != "discount"), 0).label("sub"),
               func.coalesce(func.sum(InvoiceLine.amount).filter(InvoiceLine.kind == "discount"), 0).label("disc"))
        .group_by(InvoiceLine.invoice_id))}
    for inv in session.scalars(select(Invoice)):
        row = lines.get(inv.id)
        sub, disc = (int(row.sub), -int(row.disc)) if row else (0, 0)
        if sub != inv.subtotal or disc != inv.discount:
            out.append(f"invoice {inv.number}: subtotal/discount {inv.subtotal}/{inv.discount} "
                       f"but lines give {sub}/{disc}")
        if inv.total != max(0, inv.subtotal - inv.discount) + inv.tax:
            out.append(f"invoice {inv.number}: total {inv.total} != subtotal - discount + tax")
    return out
