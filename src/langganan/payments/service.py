"""Payments: card charges (rule 11), virtual accounts and their callbacks, manual confirmation.

Every way money arrives ends in `receive`, which records it as a receipt, then applies it to its
invoice at most once (together with what was held as underpayments of it, once they cover it) or
holds it as an unapplied payment (rule 10): money received is never rejected or lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from langganan.accounts import repository as accounts_repo
from langganan.accounts.models import Account
from langganan.addons import repository as addons_repo
from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.catalog.rules import WalletKind
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.actions import TopUpAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.db import Database, added_unless_taken, flush
from langganan.kit.errors import Conflict, DomainError, PaymentRequired, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.payments import repository, rules
from langganan.payments.gateway import CardDetails, ChargeResult, Gateway, Notification, Outcome, SavedCard
from langganan.payments.models import (
    GatewayNotification,
    Payment,
    PaymentMethod,
    PaymentMethodType,
    PaymentReceipt,
    PaymentStatus,
    UnappliedPayment,
    UnappliedReason,
    UnappliedStatus,
)
from langganan.subscriptions import repository as subscriptions_repo
from langganan.subscriptions import service as subscriptions
from langganan.wallets import service as wallets
from langganan.wallets.models import Wallet

log = logging.getLogger("langganan")
METHODS = (PaymentMethodType.CARD, PaymentMethodType.BANK_TRANSFER, PaymentMethodType.QRIS)
# A payment whose money has not come in yet: pending, or a lapsed or replaced virtual account (or card
# charge) whose money arrives anyway; what arrives for it still counts as its first receipt.
OPEN = (PaymentStatus.PENDING, PaymentStatus.EXPIRED, PaymentStatus.CANCELED)


def save_method(session: Work, gateway: Gateway, account: Account, token: str, now: datetime) -> PaymentMethod:
    card = gateway.card_details(token)
    if (card.exp_year, card.exp_month) < (now.year, now.month):
        raise Unprocessable("card_expired", "The card has expired.", param="provider_token")
    return _add_method(session, account.id, gateway.name, token, card, now)


def _add_method(session: Work, account_id: str, provider: str, token: str, card: CardDetails,
                now: datetime) -> PaymentMethod:
    first = not repository.methods_for(session, account_id)
    pm = PaymentMethod(id=new_id("pm"), account_id=account_id, provider=provider, token=token,
                       brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
                       is_default=first, created_at=now)
    session.add(pm)
    session.flush()
    events.emit(session, "payment_method.created", account_id,
                {"payment_method_id": pm.id, "brand": pm.brand, "last4": pm.last4}, now)
    return pm


def can_apply(session: Work, invoice: Invoice, now: datetime) -> bool:
    return subscriptions.can_apply(session, invoice, now)


def fulfil(session: Work, invoice: Invoice, payment: Payment, now: datetime) -> None:
    """Do what a paid invoice was bought for."""
    action = invoice.action
    if invoice.type in (InvoiceType.SUBSCRIPTION, InvoiceType.PLAN_CHANGE, InvoiceType.RENEWAL, InvoiceType.ADD_ON):
        card = payment.payment_method_id if payment.method == PaymentMethodType.CARD else None
        subscriptions.apply_paid_invoice(session, invoice, now, card_id=card)
    elif invoice.type == InvoiceType.TOP_UP and isinstance(action, TopUpAction):
        wallets.credit_top_up(session, invoice.account_id, action.wallet, action.amount, invoice.id, now)


def start(session: Work, settings: Settings, gateway: Gateway, invoice: Invoice, *, method: str,
          payment_method_id: str | None, bank: str | None, now: datetime,
          va_until_invoice_expires: bool = False) -> Payment:
    """Open a payment for an unpaid invoice. A card payment is left pending: the caller commits,
    then calls `charge_card` (rule 11). A bank transfer gets (or reuses) a virtual account, open
    for `va_expiry_hours`, or as long as the invoice (a renewal issued ahead of its period)."""
    invoice = invoices_repo.get(session, invoice.id, for_update=True)
    if invoice.status != InvoiceStatus.UNPAID:
        raise Conflict("invoice_not_payable", f"Invoice {invoice.number} is {invoice.status}; it cannot be paid.")
    if not can_apply(session, invoice, now):
        raise Conflict("invoice_not_payable", f"Invoice {invoice.number} no longer matches the subscription; "
                       "request a new one.")
    if method not in METHODS:
        raise Unprocessable("invalid_payment_method", "payment_method must be 'card', 'bank_transfer' or 'qris'.",
                            param="payment_method")
    base = dict(id=new_id("pay"), account_id=invoice.account_id, invoice_id=invoice.id, provider=gateway.name,
                status=PaymentStatus.PENDING, amount=invoice.total, currency=invoice.currency, created_at=now,
                updated_at=now)
    if method == PaymentMethodType.CARD:
        if not payment_method_id:
            raise Unprocessable("payment_method_required", "A card payment needs payment_method_id.",
                                param="payment_method_id")
        pm = repository.payment_method(session, invoice.account_id, payment_method_id)
        payment = Payment(method=PaymentMethodType.CARD, payment_method_id=pm.id, **base)
    elif method == PaymentMethodType.QRIS:
        if invoice.total > settings.qris_max_amount:
            raise Unprocessable("qris_amount_too_large", f"QRIS takes payments up to {settings.qris_max_amount} "
                                f"{invoice.currency}; pay this invoice by card or bank transfer.",
                                param="payment_method")
        fresh = invoice.id in (session.answers(invoices.WITHOUT_PAYMENTS) or ())
        existing = None if fresh else repository.open_qr(session, invoice.id, now)
        if existing is not None:
            return existing
        expires = now + timedelta(minutes=settings.qris_expiry_minutes)
        if invoice.expires_at is not None:
            expires = min(expires, invoice.expires_at)
        qr = gateway.create_qris(reference=str(base["id"]), amount=invoice.total, currency=invoice.currency,
                                 expires_at=expires)
        payment = Payment(method=PaymentMethodType.QRIS, qr_string=qr.qr_string, va_expires_at=qr.expires_at,
                          provider_ref=qr.provider_ref, **base)
    else:
        fresh = invoice.id in (session.answers(invoices.WITHOUT_PAYMENTS) or ())  # issued just now: none yet
        existing = None if fresh else repository.open_va(session, invoice.id, now)
        if existing is not None and (bank is None or existing.bank == bank):
            return existing
        expires = now + timedelta(hours=settings.va_expiry_hours)
        if invoice.expires_at is not None:
            expires = invoice.expires_at if va_until_invoice_expires else min(expires, invoice.expires_at)
        va = gateway.create_virtual_account(reference=str(base["id"]), amount=invoice.total,
                                            currency=invoice.currency, bank=bank or "bca", expires_at=expires)
        payment = Payment(method=PaymentMethodType.BANK_TRANSFER, bank=va.bank, va_number=va.va_number,
                          biller_code=va.biller_code, va_expires_at=va.expires_at, provider_ref=va.provider_ref,
                          **base)
    (session.answers(invoices.WITHOUT_PAYMENTS) or {}).pop(invoice.id, None)
    session.add(payment)
    repository.note_pending(session, payment)
    flush(session)
    events.emit(session, "payment.created", invoice.account_id, _summary(payment), now)
    return payment


def _summary(p: Payment) -> dict[str, object]:
    return {"payment_id": p.id, "invoice_id": p.invoice_id, "method": p.method, "status": p.status,
            "amount": p.amount, "currency": p.currency}


@dataclass(frozen=True)
class ChargeRequest:
    """What the gateway needs to charge a committed pending card payment."""

    payment_id: str
    token: str
    amount: int
    currency: str
    invoice_id: str | None


def charge_requests(session: Work, payment_ids: Sequence[str]) -> dict[str, ChargeRequest]:
    """The pending card payments' charge details, read in one query."""
    rows = repository.charge_details(session, payment_ids)
    return {r.id: ChargeRequest(r.id, r.token, r.amount, r.currency, r.invoice_id) for r in rows}


def call_gateway(gateway: Gateway, request: ChargeRequest) -> ChargeResult:
    return gateway.charge(token=request.token, amount=request.amount, currency=request.currency,
                          idempotency_key=request.payment_id, description=f"invoice {request.invoice_id}")


def lock_for_outcomes(session: Work, payment_ids: Sequence[str]) -> None:
    """Lock, in one query per table and in a fixed order, the rows that recording these charges'
    outcomes touches (payments, their invoices, subscriptions, accounts, conversation wallets), so
    `record_charge` finds them held instead of selecting each again. Call it outside any savepoint."""
    ids = sorted(payment_ids)
    if not ids:
        return
    pays = repository.lock_many(session, ids)
    for p in pays:
        session.hold(p)
    invoice_ids = sorted({p.invoice_id for p in pays if p.invoice_id})
    if not invoice_ids:
        return
    invs = invoices_repo.lock_many(session, invoice_ids)
    for inv in invs:
        session.hold(inv)
    repository.read_pending_ahead(session, invoice_ids)
    repository.read_underpayments_ahead(session, invoice_ids)
    sub_ids = sorted({inv.subscription_id for inv in invs if inv.subscription_id})
    subs = subscriptions_repo.lock_many(session, sub_ids)
    for sub in subs:
        session.hold(sub)
    addons_repo.note_without_add_ons(session, sub_ids)
    account_ids = sorted({sub.account_id for sub in subs})
    session.keep(accounts_repo.many(session, account_ids))
    wallets = session.scalars(select(Wallet).where(Wallet.account_id.in_(account_ids),
                                                   Wallet.kind == WalletKind.CONVERSATION).order_by(Wallet.id)
                              .with_for_update()).all()
    for w in wallets:
        session.hold(w, key=(w.account_id, w.kind))


def record_charge(session: Work, settings: Settings, payment_id: str, amount: int, result: ChargeResult,
                  now: datetime) -> tuple[Payment, bool]:
    """Record a gateway's answer for a committed pending card payment: money taken is applied (or
    held, rule 10); a decline is recorded as a failed payment and nothing else changes (rule 11).
    Returns the payment and whether a decline was recorded now."""
    payment = session.held(Payment, payment_id) or session.get(
        Payment, payment_id, with_for_update=True)
    assert payment is not None
    if result.succeeded and payment.status in OPEN:
        # Money was taken: applied, or held if the invoice was paid another way meanwhile (rule 10).
        payment.provider_ref = result.provider_ref
        receive(session, payment, amount, payment.currency, now)
        return payment, False
    if payment.status != PaymentStatus.PENDING:
        return payment, False
    if result.pending:  # 3DS or review: the gateway's callback (or the status check) decides
        payment.provider_ref, payment.updated_at = result.provider_ref, now
        return payment, False
    _record_decline(session, settings, payment, result, now)
    return payment, True


def _record_decline(session: Work, settings: Settings, payment: Payment, result: ChargeResult,
                    now: datetime) -> None:
    payment.provider_ref = result.provider_ref
    payment.status = PaymentStatus.FAILED
    payment.failure_code = result.failure_code
    payment.failure_message = result.failure_message
    payment.updated_at = now
    events.emit(session, "payment.failed", payment.account_id,
                {**_summary(payment), "failure_code": result.failure_code}, now)
    if payment.invoice_id is not None:
        invoice = invoices_repo.get(session, payment.invoice_id, for_update=True)
        subscriptions.renewal_charge_failed(session, settings, invoice, payment.id, now)


def charge_card(db: Database, settings: Settings, gateway: Gateway, payment_id: str,
                clock_now: Callable[[Work], datetime]) -> Payment:
    """Charge a committed pending card payment, then record the outcome in a second transaction.

    A decline is recorded as a failed payment and raised as 402; nothing else changes (rule 11)."""
    with db.transaction() as session:
        request = charge_requests(session, [payment_id])[payment_id]
    result = call_gateway(gateway, request)
    # The gateway has answered: its answer is recorded however busy the database is (background waits).
    with db.background.transaction() as session:
        payment, declined = record_charge(session, settings, payment_id, request.amount, result, clock_now(session))
    if declined:
        raise PaymentRequired(result.failure_code or "card_declined",
                              result.failure_message or "The card was declined.",
                              param="payment_method_id", payment_id=payment_id, invoice_id=payment.invoice_id)
    return payment


def _hold(session: Work, payment: Payment | None, account_id: str | None, invoice_id: str | None,
          amount: int, currency: str, reason: UnappliedReason, now: datetime) -> UnappliedPayment:
    held = UnappliedPayment(id=new_id("unp"), account_id=account_id, payment_id=payment.id if payment else None,
                            invoice_id=invoice_id, amount=amount, currency=currency, reason=reason,
                            status=UnappliedStatus.OPEN, created_at=now)
    session.add(held)
    events.emit(session, "payment.unapplied", account_id,
                {"unapplied_payment_id": held.id, "amount": amount, "currency": currency, "reason": reason,
                 "invoice_id": invoice_id}, now)
    return held


def _record_receipt(session: Work, payment: Payment | None, amount: int, currency: str, now: datetime,
                    notification_id: str | None) -> None:
    session.add(PaymentReceipt(id=new_id("rcp"), account_id=payment.account_id if payment else None,
                               payment_id=payment.id if payment else None, notification_id=notification_id,
                               amount=amount, currency=currency, received_at=now))


def receive(session: Work, payment: Payment, amount: int, currency: str, now: datetime, *,
            notification_id: str | None = None) -> str:
    """Money arrived for `payment` (recorded as a receipt). Applied to its invoice if it still can be,
    together with what was held as underpayments of it; else held (rule 10: never rejected or lost)."""
    _record_receipt(session, payment, amount, currency, now, notification_id)
    if payment.status not in OPEN:
        # A second transfer to the virtual account of a paid invoice: recorded, held for refund.
        _hold(session, payment, payment.account_id, payment.invoice_id, amount, currency, UnappliedReason.DUPLICATE,
              now)
        return "held_duplicate"
    invoice = invoices_repo.get(session, payment.invoice_id, for_update=True) if payment.invoice_id else None
    if invoice is None:
        return _hold_received(session, payment, None, amount, currency, UnappliedReason.NO_INVOICE, now)
    if currency != invoice.currency:
        return _hold_received(session, payment, invoice, amount, currency, UnappliedReason.WRONG_CURRENCY, now)
    if not (invoice.status in (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED) and can_apply(session, invoice, now)):
        reason = UnappliedReason.DUPLICATE if invoice.status == InvoiceStatus.PAID else UnappliedReason.LATE
        return _hold_received(session, payment, invoice, amount, currency, reason, now)
    waiting = repository.underpayments(session, invoice.id)
    settlement = rules.settle(invoice.total, [u.amount for u in waiting], amount)
    if not settlement.pays:
        return _hold_received(session, payment, invoice, amount, currency, UnappliedReason.UNDERPAYMENT, now)
    return pay_with(session, payment, invoice, amount, currency, waiting, settlement.surplus, now)


def pay_with(session: Work, payment: Payment, invoice: Invoice, amount: int, currency: str,
         waiting: Sequence[UnappliedPayment], surplus: int, now: datetime) -> str:
    """`amount` (with the held `waiting` underpayments) pays `invoice` through `payment`; `surplus` is held."""
    payment.status, payment.amount, payment.updated_at = PaymentStatus.SUCCEEDED, invoice.total, now
    for u in waiting:
        u.status, u.applied_at, u.applied_payment_id = UnappliedStatus.APPLIED, now, payment.id
    events.emit(session, "payment.succeeded", payment.account_id,
                {**_summary(payment), "received": amount,
                 "applied_unapplied_payment_ids": [u.id for u in waiting]}, now)
    invoices.mark_paid(session, invoice, now, allow_expired=True)
    for other in repository.pending_for_invoice(session, invoice.id):
        if other.id != payment.id:
            other.status, other.updated_at = PaymentStatus.CANCELED, now
    fulfil(session, invoice, payment, now)
    if surplus:
        _hold(session, payment, payment.account_id, invoice.id, surplus, currency, UnappliedReason.OVERPAYMENT, now)
    return "applied"


def hold_received(session: Work, *, account_id: str | None, invoice_id: str | None, amount: int, currency: str,
                  reason: UnappliedReason, now: datetime) -> tuple[PaymentReceipt, UnappliedPayment]:
    """Money that arrived for no payment of ours (a bank statement line that named no invoice, or one that
    can no longer be paid): received (for `account_id`, or for no account yet) and held (rule 10)."""
    receipt = PaymentReceipt(id=new_id("rcp"), account_id=account_id, payment_id=None, notification_id=None,
                             amount=amount, currency=currency, received_at=now)
    session.add(receipt)
    return receipt, _hold(session, None, account_id, invoice_id, amount, currency, reason, now)


def assign_held(session: Work, receipt_id: str, held_id: str, invoice_id: str, reference: str, note: str | None,
                now: datetime) -> tuple[Payment, str]:
    """An operator says whose money received under no account was (`hold_received` without an account) by
    naming the invoice it pays. The receipt and the held money become the invoice's account's, and are
    applied as if they had just arrived for a manual payment of the invoice (`reference`, like a transfer
    confirmed by hand, but for the amount received): with what was held as underpayments of it, they pay it
    and what goes beyond its total stays held as an overpayment; short of it, they stay held as an
    underpayment of it. Received = applied + held holds for both accounts before and after."""
    held = session.get(UnappliedPayment, held_id, with_for_update=True)
    receipt = session.get(PaymentReceipt, receipt_id, with_for_update=True)
    if held is None or receipt is None or held.status != UnappliedStatus.OPEN or held.account_id is not None \
            or receipt.account_id is not None:
        raise Conflict("payment_already_assigned", "This money was already assigned or refunded.")
    invoice = invoices_repo.get(session, invoice_id, for_update=True)
    if invoice.status not in (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED) or not can_apply(session, invoice, now):
        raise Conflict("invoice_not_payable", f"Invoice {invoice.number} is {invoice.status}; it cannot be paid.",
                       param="invoice_id")
    if invoice.currency != held.currency:
        raise Conflict("currency_mismatch", f"Invoice {invoice.number} is in {invoice.currency}; this money is in "
                       f"{held.currency}.", param="invoice_id")
    payment = manual_payment(session, invoice, reference, note, now)
    receipt.account_id, receipt.payment_id = invoice.account_id, payment.id
    held.account_id, held.invoice_id, held.payment_id = invoice.account_id, invoice.id, payment.id
    events.emit(session, "payment.assigned", invoice.account_id,
                {"unapplied_payment_id": held.id, "invoice_id": invoice.id, "payment_id": payment.id,
                 "amount": held.amount, "currency": held.currency}, now)
    waiting = list(repository.underpayments(session, invoice.id))
    settlement = rules.settle(invoice.total, [u.amount for u in waiting], held.amount)
    if not settlement.pays:
        held.reason = UnappliedReason.UNDERPAYMENT
        repository.note_underpayment(session, held)
        return payment, f"held_{UnappliedReason.UNDERPAYMENT}"
    return payment, pay_with(session, payment, invoice, held.amount, held.currency, [*waiting, held],
                         settlement.surplus, now)


def _hold_received(session: Work, payment: Payment, invoice: Invoice | None, amount: int, currency: str,
                   reason: UnappliedReason, now: datetime) -> str:
    """Hold what arrived for `payment` without paying its invoice. A virtual account keeps its status
    (more may arrive on it); a card charge is over: `unapplied`, so it is never charged or counted again."""
    row = _hold(session, payment, payment.account_id, invoice.id if invoice else None, amount, currency,
                reason, now)
    if reason == UnappliedReason.UNDERPAYMENT:
        repository.note_underpayment(session, row)
    if payment.method == PaymentMethodType.CARD:
        payment.status, payment.updated_at = PaymentStatus.UNAPPLIED, now
    return f"held_{reason}"


def handle_notification(session: Work, settings: Settings, provider: str, note: Notification, now: datetime) -> str:
    """A verified gateway callback or status answer, applied once (a repeat of the provider's event changes
    nothing). The caller verified it (`Gateway.verify_notification` or `Gateway.status`) outside the
    transaction: verifying may ask the gateway."""
    record = GatewayNotification(id=new_id("gwn"), provider=provider, event_id=note.event_id,
                                 payload={"outcome": note.outcome, "reference": note.reference,
                                          "va_number": note.va_number, "amount": note.amount,
                                          "currency": note.currency, "provider_ref": note.provider_ref},
                                 outcome="received", received_at=now)
    if not added_unless_taken(session, record):
        return "duplicate"
    payment = (repository.by_reference(session, note.reference) if note.reference is not None
               else repository.by_va(session, note.va_number) if note.va_number is not None else None)
    if payment is None:
        if note.outcome == Outcome.PAID:  # money for nothing we issued: held (rule 10), never lost
            _record_receipt(session, None, note.amount, note.currency, now, record.id)
            _hold(session, None, None, None, note.amount, note.currency, UnappliedReason.UNKNOWN_VIRTUAL_ACCOUNT,
                  now)
            record.outcome = "held_unknown_virtual_account"
        else:
            record.outcome = f"ignored_unknown_{note.outcome}"
        return record.outcome
    record.outcome = _settle(session, settings, payment, note, now, notification_id=record.id)
    return record.outcome


def _settle(session: Work, settings: Settings, payment: Payment, note: Notification, now: datetime, *,
            notification_id: str) -> str:
    """What the gateway's word about `payment` changes. Money that arrived is received whatever the payment's
    status (rule 10); a failure or expiry ends only a pending payment; money taken back after it paid is held
    as owed."""
    if note.provider_ref and payment.provider_ref is None:
        payment.provider_ref = note.provider_ref
    if note.outcome == Outcome.PAID:
        if note.saved_card is not None and payment.method == PaymentMethodType.CARD:
            _keep_card(session, payment, note.saved_card, now)
        return receive(session, payment, note.amount, note.currency, now, notification_id=notification_id)
    if note.outcome in (Outcome.FAILED, Outcome.REVERSED) and payment.status == PaymentStatus.SUCCEEDED:
        return _reversed(session, payment, note, now, notification_id)
    if note.outcome == Outcome.FAILED and payment.status == PaymentStatus.PENDING:
        if payment.method == PaymentMethodType.CARD:
            result = ChargeResult(False, note.provider_ref, note.failure_code or "card_declined",
                                  note.failure_message or "The card was declined.")
            _record_decline(session, settings, payment, result, now)
            return "failed"
        payment.status, payment.updated_at = PaymentStatus.FAILED, now
        payment.failure_code, payment.failure_message = note.failure_code, note.failure_message
        events.emit(session, "payment.failed", payment.account_id,
                    {**_summary(payment), "failure_code": note.failure_code}, now)
        return "failed"
    if note.outcome == Outcome.EXPIRED and payment.status == PaymentStatus.PENDING:
        payment.status, payment.updated_at = PaymentStatus.EXPIRED, now
        return "expired"
    return f"ignored_{note.outcome}"


def _reversed(session: Work, payment: Payment, note: Notification, now: datetime, notification_id: str) -> str:
    """The gateway took back money it had reported paid. The invoice stays paid (it was fulfilled and
    invoices never change); what left is recorded as a negative receipt and held as a negative amount,
    what the account owes, for an operator to collect or write off. Received = applied + held still holds."""
    amount = note.amount or payment.amount
    _record_receipt(session, payment, -amount, payment.currency, now, notification_id)
    _hold(session, payment, payment.account_id, payment.invoice_id, -amount, payment.currency,
          UnappliedReason.REVERSED, now)
    events.emit(session, "payment.reversed", payment.account_id,
                {**_summary(payment), "reversed": amount, "failure_code": note.failure_code}, now)
    return "reversed"


def _keep_card(session: Work, payment: Payment, saved: SavedCard, now: datetime) -> None:
    """A card the customer chose to save while paying: kept for the account, once."""
    if repository.method_by_token(session, payment.account_id, saved.token) is not None:
        return
    _add_method(session, payment.account_id, payment.provider, saved.token, saved.card, now)


def check_statuses(db: Database, settings: Settings, gateway: Gateway, now: datetime, limit: int) -> int:
    """A callback that never came: ask the gateway about pending payments older than
    `payment_status_check_minutes` (each at most once per that interval) and apply what it says through
    the same path as a callback, so a lost callback still settles its invoice and a lapsed one expires.
    The gateway is asked outside any transaction; each answer is applied in its own. Returns how many
    payments were asked about."""
    older_than = now - timedelta(minutes=settings.payment_status_check_minutes)
    with db.transaction() as session:
        claimed = repository.to_check(session, gateway.name, older_than, limit)
        for payment in claimed:
            payment.checked_at = now
        ids = [p.id for p in claimed]
    for payment_id in ids:
        try:
            note = gateway.status(payment_id)
        except DomainError as exc:  # the gateway is down or refused: asked again after the interval
            log.warning("status check of payment %s failed: %s", payment_id, exc.message)
            continue
        if note is None:
            continue
        with db.transaction() as session:
            handle_notification(session, settings, gateway.name, note, now)
    return len(ids)


def mark_paid_manually(session: Work, invoice: Invoice, reference: str, note: str | None,
                       now: datetime, *, by: Actor | None = None) -> Payment:
    """An operator confirms a bank transfer by hand (written to the audit log as `by`, when given)."""
    invoice = invoices_repo.get(session, invoice.id, for_update=True)
    if invoice.status not in (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED) or not can_apply(session, invoice, now):
        raise Conflict("invoice_not_payable", f"Invoice {invoice.number} is {invoice.status}; it cannot be paid.")
    before = {"status": invoice.status.value}
    payment, outcome = receive_transfer(session, invoice, invoice.total, invoice.currency, reference, note, now)
    if by is not None:
        audit.record(session, by, "invoice.marked_paid", target_type="invoice", target_id=invoice.id, now=now,
                     account_id=invoice.account_id, reason=note, before=before,
                     after={"status": invoice.status.value, "payment_id": payment.id, "reference": reference,
                            "amount": invoice.total, "outcome": outcome})
    return payment


def receive_transfer(session: Work, invoice: Invoice, amount: int, currency: str, reference: str,
                     note: str | None, now: datetime) -> tuple[Payment, str]:
    """A transfer for `invoice` that reached the bank account itself, not a virtual account (an operator's
    confirmation, a bank statement line naming the invoice): a manual payment (`reference`) that receives
    `amount` like any other (short, over or late: rule 10 holds what cannot be applied). The caller locked
    the invoice. Returns the payment and what `receive` did."""
    payment = manual_payment(session, invoice, reference, note, now)
    return payment, receive(session, payment, amount, currency, now)


def manual_payment(session: Work, invoice: Invoice, reference: str, note: str | None, now: datetime) -> Payment:
    payment = Payment(id=new_id("pay"), account_id=invoice.account_id, invoice_id=invoice.id,
                      method=PaymentMethodType.MANUAL, provider="manual", status=PaymentStatus.PENDING,
                      amount=invoice.total, currency=invoice.currency,
                      reference=reference, note=note, created_at=now, updated_at=now)
    session.add(payment)
    repository.note_pending(session, payment)
    flush(session)
    return payment


def expire_pending(session: Work, invoice: Invoice, now: datetime) -> None:
    for p in repository.pending_for_invoice(session, invoice.id):
        p.status, p.updated_at = PaymentStatus.EXPIRED, now
