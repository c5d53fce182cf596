from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Row, or_, select

from langganan.kit.errors import NotFound
from langganan.kit.work import Question, Work
from langganan.payments.models import (
    AutoTopUp,
    CardSetupRecord,
    CreditRefund,
    CreditRefundStatus,
    Payment,
    PaymentMethod,
    PaymentMethodType,
    PaymentReceipt,
    PaymentStatus,
    RefundTo,
    UnappliedPayment,
    UnappliedStatus,
)
from langganan.wallets.models import Wallet


def payment_method(session: Work, account_id: str, pm_id: str) -> PaymentMethod:
    """One of the account's saved cards (a removed card is not found: it is never charged again)."""
    pm = session.get(PaymentMethod, pm_id)
    if pm is None or pm.account_id != account_id or pm.removed_at is not None:
        raise NotFound("payment_method", pm_id, param="payment_method_id")
    return pm


def methods_for(session: Work, account_id: str) -> Sequence[PaymentMethod]:
    return session.scalars(select(PaymentMethod).where(PaymentMethod.account_id == account_id,
                                                       PaymentMethod.removed_at.is_(None))
                           .order_by(PaymentMethod.id)).all()


def expiring_methods(session: Work, last_month: int, limit: int) -> Sequence[PaymentMethod]:
    """Saved cards whose last valid month (year × 12 + month) is `last_month` or earlier and whose customer
    was not told yet, claimed."""
    return session.scalars(select(PaymentMethod).where(
        PaymentMethod.removed_at.is_(None), PaymentMethod.expiry_noticed_at.is_(None),
        PaymentMethod.exp_year * 12 + PaymentMethod.exp_month <= last_month)
        .order_by(PaymentMethod.id).limit(limit).with_for_update(skip_locked=True)).all()


def latest_for_invoice(session: Work, invoice_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id.desc()).limit(1))


def latest_for_invoices(session: Work, invoice_ids: Sequence[str]) -> dict[str, Payment]:
    out: dict[str, Payment] = {}
    if not invoice_ids:
        return out
    for p in session.scalars(select(Payment).where(Payment.invoice_id.in_(invoice_ids)).order_by(Payment.id)):
        if p.invoice_id is not None:
            out[p.invoice_id] = p
    return out


def open_va(session: Work, invoice_id: str, now: datetime) -> Payment | None:
    return _open(session, invoice_id, PaymentMethodType.BANK_TRANSFER, now)


def open_qr(session: Work, invoice_id: str, now: datetime) -> Payment | None:
    return _open(session, invoice_id, PaymentMethodType.QRIS, now)


def _open(session: Work, invoice_id: str, method: PaymentMethodType, now: datetime) -> Payment | None:
    """The invoice's newest pending payment by `method` that can still be paid (not past its expiry)."""
    return session.scalar(select(Payment).where(
        Payment.invoice_id == invoice_id, Payment.method == method, Payment.status == PaymentStatus.PENDING,
        Payment.va_expires_at > now).order_by(Payment.id.desc()).limit(1))


def by_va(session: Work, va_number: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.va_number == va_number).with_for_update())


def card_setup(session: Work, account_id: str, setup_id: str, *, for_update: bool = False) -> CardSetupRecord:
    """One of the account's card setups (another account's is not found)."""
    record = session.get(CardSetupRecord, setup_id, with_for_update=for_update or None)
    if record is None or record.account_id != account_id:
        raise NotFound("card_setup", setup_id, param="setup")
    return record


def method_by_token(session: Work, account_id: str, token: str) -> PaymentMethod | None:
    return session.scalar(select(PaymentMethod).where(PaymentMethod.account_id == account_id,
                                                      PaymentMethod.token == token,
                                                      PaymentMethod.removed_at.is_(None)))


def by_reference(session: Work, reference: str) -> Payment | None:
    """The payment a gateway names by the id langganan sent it (order id / reference id), locked."""
    return session.get(Payment, reference, with_for_update=True)


PENDING: Question[str, list[Payment]] = Question("pending payments of an invoice")


def pending_for_invoice(session: Work, invoice_id: str) -> Sequence[Payment]:
    """The invoice's pending payments (from memory when this transaction read them ahead)."""
    known = (session.answers(PENDING) or {}).get(invoice_id)
    if known is not None:
        return [p for p in known if p.status == PaymentStatus.PENDING and p in session]
    return session.scalars(select(Payment).where(Payment.invoice_id == invoice_id,
                                                 Payment.status == PaymentStatus.PENDING)).all()


def read_pending_ahead(session: Work, invoice_ids: Collection[str]) -> None:
    """Read the pending payments of these invoices in one query and answer `pending_for_invoice` for them
    from memory for the rest of the transaction (`note_pending` adds payments started meanwhile)."""
    known = session.read_ahead(PENDING)
    for invoice_id in invoice_ids:
        known[invoice_id] = []
    for p in session.scalars(select(Payment).where(Payment.invoice_id.in_(list(invoice_ids)),
                                                   Payment.status == PaymentStatus.PENDING).order_by(Payment.id)):
        known[str(p.invoice_id)].append(p)


def note_pending(session: Work, payment: Payment) -> None:
    known = (session.answers(PENDING) or {}).get(payment.invoice_id or "")
    if known is not None:
        known.append(payment)



UNDERPAYMENTS: Question[str, list[UnappliedPayment]] = Question("open underpayments of an invoice")


def underpayments(session: Work, invoice_id: str) -> Sequence[UnappliedPayment]:
    """The money held as open underpayments of this invoice, oldest first (from memory when this
    transaction read them ahead). Call it with the invoice locked."""
    known = (session.answers(UNDERPAYMENTS) or {}).get(invoice_id)
    if known is not None:
        return [u for u in known if u.status == UnappliedStatus.OPEN and u in session]
    return session.scalars(select(UnappliedPayment).where(
        UnappliedPayment.invoice_id == invoice_id, UnappliedPayment.reason == "underpayment",
        UnappliedPayment.status == UnappliedStatus.OPEN).order_by(UnappliedPayment.created_at,
                                                                  UnappliedPayment.id)).all()


def read_underpayments_ahead(session: Work, invoice_ids: Collection[str]) -> None:
    """Read the open underpayments of these (locked) invoices in one query and answer `underpayments`
    for them from memory for the rest of the transaction (`note_underpayment` adds those held meanwhile)."""
    known = session.read_ahead(UNDERPAYMENTS)
    for invoice_id in invoice_ids:
        known[invoice_id] = []
    for u in session.scalars(select(UnappliedPayment).where(
            UnappliedPayment.invoice_id.in_(list(invoice_ids)), UnappliedPayment.reason == "underpayment",
            UnappliedPayment.status == UnappliedStatus.OPEN).order_by(UnappliedPayment.created_at,
                                                                      UnappliedPayment.id)):
        known[str(u.invoice_id)].append(u)


def note_underpayment(session: Work, held: UnappliedPayment) -> None:
    known = (session.answers(UNDERPAYMENTS) or {}).get(held.invoice_id or "")
    if known is not None:
        known.append(held)


def charge_details(session: Work, payment_ids: Sequence[str]) -> Sequence[Row[str, str, int, str, str | None]]:
    """Each payment's id, card token, amount, currency and invoice id, for the card payments among these."""
    return session.execute(select(Payment.id, PaymentMethod.token, Payment.amount, Payment.currency,
                                  Payment.invoice_id)
                           .join(PaymentMethod, PaymentMethod.id == Payment.payment_method_id)
                           .where(Payment.id.in_(list(payment_ids)))).all()


def lock_many(session: Work, payment_ids: Sequence[str]) -> Sequence[Payment]:
    """These payments, locked in id order."""
    return session.scalars(select(Payment).where(Payment.id.in_(payment_ids)).order_by(Payment.id)
                           .with_for_update()).all()


def methods_by_ids(session: Work, pm_ids: Collection[str]) -> Sequence[PaymentMethod]:
    return session.scalars(select(PaymentMethod).where(PaymentMethod.id.in_(pm_ids))).all()


def to_check(session: Work, provider: str, older_than: datetime, limit: int) -> Sequence[Payment]:
    """Pending payments at `provider` opened before `older_than` and not asked about since, oldest first,
    claimed (SKIP LOCKED on PostgreSQL: two workers never ask about the same payment at once)."""
    return session.scalars(select(Payment).where(
        Payment.status == PaymentStatus.PENDING, Payment.provider == provider, Payment.created_at <= older_than,
        or_(Payment.checked_at.is_(None), Payment.checked_at <= older_than))
        .order_by(Payment.created_at).limit(limit).with_for_update(skip_locked=True)).all()


def unapplied(session: Work, held_id: str, *, for_update: bool = False) -> UnappliedPayment:
    held = session.get(UnappliedPayment, held_id, with_for_update=for_update)
    if held is None:
        raise NotFound("unapplied_payment", held_id)
    return held


def receipt_of_held(session: Work, held: UnappliedPayment) -> PaymentReceipt:
    """The receipt of money held for no payment (`service.hold_received`): the one of its amount and time with
    no payment, locked."""
    receipt = session.scalar(select(PaymentReceipt).where(
        PaymentReceipt.payment_id.is_(None), PaymentReceipt.account_id.is_(None),
        PaymentReceipt.amount == held.amount, PaymentReceipt.received_at == held.created_at)
        .order_by(PaymentReceipt.id).limit(1).with_for_update())
    if receipt is None:
        raise NotFound("payment_receipt", held.id)
    return receipt


def list_unapplied(session: Work, *, status: str | None, account_id: str | None, limit: int,
                   starting_after: str | None) -> tuple[Sequence[UnappliedPayment], bool]:
    q = select(UnappliedPayment)
    if status is not None:
        q = q.where(UnappliedPayment.status == status)
    if account_id is not None:
        q = q.where(UnappliedPayment.account_id == account_id)
    if starting_after is not None:
        q = q.where(UnappliedPayment.id < starting_after)
    rows = session.scalars(q.order_by(UnappliedPayment.id.desc()).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def stalled_credit_refunds(session: Work, provider: str, older_than: datetime,
                           limit: int) -> Sequence[Row[str, int, str, str]]:
    """Gateway refunds of credit notes still pending since before `older_than` (their answer never came), through
    `provider`: the original invoice, amount, reason and who asked."""
    return session.execute(
        select(CreditRefund.invoice_id, CreditRefund.amount, CreditRefund.reason, CreditRefund.requested_by)
        .join(Payment, Payment.id == CreditRefund.payment_id)
        .where(CreditRefund.status == CreditRefundStatus.PENDING, CreditRefund.method == RefundTo.GATEWAY,
               CreditRefund.created_at <= older_than, Payment.provider == provider)
        .order_by(CreditRefund.created_at).limit(limit)).all()


def due_auto_top_ups(session: Work, recharged_before: datetime, limit: int) -> Sequence[AutoTopUp]:
    """Auto top-ups that may recharge now (on, not paused, the wallet below its threshold, not recharged since
    `recharged_before`), claimed with SKIP LOCKED: wallets that are not due never fill the batch."""
    return session.scalars(
        select(AutoTopUp).join(Wallet, Wallet.id == AutoTopUp.wallet_id)
        .where(AutoTopUp.enabled.is_(True), AutoTopUp.paused_at.is_(None), Wallet.balance < AutoTopUp.threshold,
               or_(AutoTopUp.last_at.is_(None), AutoTopUp.last_at <= recharged_before))
        .order_by(AutoTopUp.wallet_id).limit(limit).with_for_update(skip_locked=True, of=AutoTopUp)).all()
