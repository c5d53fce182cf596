"""Payments: money received is applied or held, never lost or counted twice (rules 10, 11)."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from langganan.config import Settings
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.work import Work
from langganan.payments.models import (
    GatewayNotification,
    Payment,
    PaymentReceipt,
    PaymentStatus,
    UnappliedPayment,
    UnappliedStatus,
)
from langganan.verify.violation import Violation
from langganan.wallets.models import EntryType, WalletEntry


def check(session: Work, _settings: Settings) -> list[Violation]:
    """(1) every paid invoice (total > 0) is covered by exactly one succeeded payment of its total, and a
    succeeded payment covers a paid invoice; (2) per account and currency, money received (receipts) =
    money applied (succeeded payments) + money held (unapplied payments not applied since), and a held
    payment marked applied was applied by a succeeded payment of its invoice; (3) every gateway
    notification that brought money was received once, for its amount (a reversal: once, for minus its
    payment's amount), and one that brought none has no receipt."""
    out: list[Violation] = []
    succeeded = and_(Payment.invoice_id == Invoice.id, Payment.status == PaymentStatus.SUCCEEDED)
    for inv_id, number, total, count, low, high in session.execute(
            select(Invoice.id, Invoice.number, Invoice.total, func.count(Payment.id), func.min(Payment.amount),
                   func.max(Payment.amount)).outerjoin(Payment, succeeded)
            .where(Invoice.status == InvoiceStatus.PAID, Invoice.total > 0).group_by(Invoice.id, Invoice.number,
                                                                                     Invoice.total)
            .having(or_(func.count(Payment.id) != 1, func.min(Payment.amount) != Invoice.total,
                        func.max(Payment.amount) != Invoice.total))):
        out.append(Violation("paid_invoice_payments", f"invoice {number}: paid, total {total}, but {count} succeeded "
                             f"payments of {low}..{high}", {"invoice_id": inv_id}))
    for pay_id, status in session.execute(select(Payment.id, Invoice.status).outerjoin(Invoice, succeeded)
                                          .where(Payment.status == PaymentStatus.SUCCEEDED,
                                                 or_(Invoice.status.is_(None), Invoice.status != InvoiceStatus.PAID))):
        out.append(Violation("succeeded_payment_unpaid_invoice", f"payment {pay_id}: succeeded but its invoice is "
                             f"{status or 'missing'}", {"payment_id": pay_id}))
    books: dict[tuple[str | None, str], list[int]] = {}
    for i, query in enumerate((
            select(PaymentReceipt.account_id, PaymentReceipt.currency, func.sum(PaymentReceipt.amount))
            .group_by(PaymentReceipt.account_id, PaymentReceipt.currency),
            select(Payment.account_id, Payment.currency, func.sum(Payment.amount))
            .where(Payment.status == PaymentStatus.SUCCEEDED).group_by(Payment.account_id, Payment.currency),
            select(UnappliedPayment.account_id, UnappliedPayment.currency, func.sum(UnappliedPayment.amount))
            .where(UnappliedPayment.status != UnappliedStatus.APPLIED)
            .group_by(UnappliedPayment.account_id, UnappliedPayment.currency))):
        for row in session.execute(query):
            books.setdefault((row[0], row[1]), [0, 0, 0])[i] = int(row[2] or 0)
    for (account_id, currency), (received, applied, held) in sorted(books.items(), key=str):
        if received != applied + held:
            out.append(Violation("money_unaccounted", f"account {account_id or '(unknown virtual account)'}: "
                                 f"{currency} received {received} != applied {applied} + held {held}",
                                 {"account_id": account_id or ""}))
    by = aliased(Payment)
    for unp_id, applier in session.execute(
            select(UnappliedPayment.id, UnappliedPayment.applied_payment_id)
            .outerjoin(by, by.id == UnappliedPayment.applied_payment_id)
            .where(UnappliedPayment.status == UnappliedStatus.APPLIED,
                   or_(by.id.is_(None), by.status != PaymentStatus.SUCCEEDED,
                       by.invoice_id != UnappliedPayment.invoice_id))):
        out.append(Violation("held_money_applied_wrongly", f"unapplied payment {unp_id}: marked applied, but not by a "
                             f"succeeded payment of its invoice ({applier})", {"unapplied_payment_id": unp_id}))
    paid_for = aliased(Payment)
    for note_id, payload, outcome, amount, currency, payment_amount in session.execute(
            select(GatewayNotification.id, GatewayNotification.payload, GatewayNotification.outcome,
                   PaymentReceipt.amount, PaymentReceipt.currency, paid_for.amount)
            .outerjoin(PaymentReceipt, PaymentReceipt.notification_id == GatewayNotification.id)
            .outerjoin(paid_for, paid_for.id == PaymentReceipt.payment_id)):
        said = payload.get("outcome", "paid")  # (notifications stored before outcomes were all money arriving)
        if outcome == "reversed":
            expected: tuple[object, object] = (-(payment_amount or 0), payload.get("currency"))
        elif said == "paid" and outcome != "duplicate":
            expected = (payload.get("amount"), payload.get("currency"))
        else:
            expected = (None, None)  # news without money (pending, failed, expired): no receipt
        if (amount, currency) != expected:
            out.append(Violation("notification_receipt_mismatch", f"gateway notification {note_id} ({said}, "
                                 f"{outcome}): expected a receipt of {expected[0]} {expected[1]} but received "
                                 f"{amount} {currency}", {"notification_id": note_id}))
    credited = aliased(WalletEntry)
    for unp_id, amount, entered in session.execute(
            select(UnappliedPayment.id, UnappliedPayment.amount, func.coalesce(func.sum(credited.amount), 0))
            .outerjoin(credited, and_(credited.reference == UnappliedPayment.id,
                                      credited.type == EntryType.ADJUSTMENT))
            .where(UnappliedPayment.status == UnappliedStatus.CREDITED)
            .group_by(UnappliedPayment.id, UnappliedPayment.amount)):
        if int(entered) != amount:
            out.append(Violation("credited_money_not_in_wallet", f"unapplied payment {unp_id}: {amount} credited to a "
                                 f"wallet, but its ledger adjustments add up to {entered}",
                                 {"unapplied_payment_id": unp_id}))
    return out
