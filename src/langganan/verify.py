"""`langganan verify`: recompute the invariants the books rest on and report every violation.

- each wallet's balance equals the sum of its ledger entries, and its granted balance the sum of
  their granted parts, with 0 <= granted <= balance;
- each wallet's `reserved` equals what its open reservations hold;
- every accepted usage event has its ledger entry;
- every invoice's subtotal, discount and total follow from its lines and tax;
- payments (`payment_violations`).
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from langganan.invoices.models import Invoice, InvoiceLine
from langganan.payments.models import GatewayNotification, Payment, PaymentReceipt, UnappliedPayment
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
    out.extend(payment_violations(session))
    return out


def payment_violations(session: Session) -> list[str]:
    """(1) every paid invoice (total > 0) is covered by exactly one succeeded payment of its total, and a
    succeeded payment covers a paid invoice; (2) per account and currency, money received (receipts) =
    money applied (succeeded payments) + money held (unapplied payments not applied since), and a held
    payment marked applied was applied by a succeeded payment of its invoice; (3) every gateway
    notification was received once, for its amount."""
    out: list[str] = []
    succeeded = and_(Payment.invoice_id == Invoice.id, Payment.status == "succeeded")
    for number, total, count, low, high in session.execute(
            select(Invoice.number, Invoice.total, func.count(Payment.id), func.min(Payment.amount),
                   func.max(Payment.amount)).outerjoin(Payment, succeeded)
            .where(Invoice.status == "paid", Invoice.total > 0).group_by(Invoice.id, Invoice.number, Invoice.total)
            .having(or_(func.count(Payment.id) != 1, func.min(Payment.amount) != Invoice.total,
                        func.max(Payment.amount) != Invoice.total))):
        out.append(f"invoice {number}: paid, total {total}, but {count} succeeded payments of {low}..{high}")
    for pay_id, status in session.execute(select(Payment.id, Invoice.status).outerjoin(Invoice, succeeded)
                                          .where(Payment.status == "succeeded",
                                                 or_(Invoice.status.is_(None), Invoice.status != "paid"))):
        out.append(f"payment {pay_id}: succeeded but its invoice is {status or 'missing'}")
    books: dict[tuple[str | None, str], list[int]] = {}
    for i, query in enumerate((
            select(PaymentReceipt.account_id, PaymentReceipt.currency, func.sum(PaymentReceipt.amount))
            .group_by(PaymentReceipt.account_id, PaymentReceipt.currency),
            select(Payment.account_id, Payment.currency, func.sum(Payment.amount))
            .where(Payment.status == "succeeded").group_by(Payment.account_id, Payment.currency),
            select(UnappliedPayment.account_id, UnappliedPayment.currency, func.sum(UnappliedPayment.amount))
            .where(UnappliedPayment.status != "applied")
            .group_by(UnappliedPayment.account_id, UnappliedPayment.currency))):
        for row in session.execute(query):
            books.setdefault((row[0], row[1]), [0, 0, 0])[i] = int(row[2] or 0)
    for (account_id, currency), (received, applied, held) in sorted(books.items(), key=str):
        if received != applied + held:
            out.append(f"account {account_id or '(unknown virtual account)'}: {currency} received {received} "
                       f"!= applied {applied} + held {held}")
    by = aliased(Payment)
    for unp_id, applier in session.execute(
            select(UnappliedPayment.id, UnappliedPayment.applied_payment_id)
            .outerjoin(by, by.id == UnappliedPayment.applied_payment_id)
            .where(UnappliedPayment.status == "applied",
                   or_(by.id.is_(None), by.status != "succeeded", by.invoice_id != UnappliedPayment.invoice_id))):
        out.append(f"unapplied payment {unp_id}: marked applied, but not by a succeeded payment of its invoice "
                   f"({applier})")
    for note_id, payload, amount, currency in session.execute(
            select(GatewayNotification.id, GatewayNotification.payload, PaymentReceipt.amount,
                   PaymentReceipt.currency)
            .outerjoin(PaymentReceipt, PaymentReceipt.notification_id == GatewayNotification.id)):
        if (amount, currency) != (payload.get("amount"), payload.get("currency")):
            out.append(f"gateway notification {note_id}: {payload.get('amount')} {payload.get('currency')} "
                       f"but received {amount} {currency}")
    return out
