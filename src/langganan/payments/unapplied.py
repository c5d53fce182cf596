"""Money held (rule 10: late, duplicate, over- or underpaid, for an unknown virtual account, a statement line that
matched nothing, taken back by the gateway) and what an operator does with it, each with a reason recorded:

- apply it to an open invoice (of its account; money held for no account becomes the invoice's account's),
  paying it as money that had just arrived would, with what was held as underpayments of it;
- credit it to one of the account's wallets as paid credit (a ledger adjustment referring to it);
- refund it: through the gateway's refund call on the payment that brought it, or as a bank transfer made by
  hand, recorded with its reference. A gateway refund is claimed (`refunding`) and committed before the gateway
  is called with the held row's id as idempotency key, so a retry never refunds twice.

Received = applied + held + credited + refunded, per account and currency (`langganan verify`). Each way out is
written to the audit log by the transaction that takes it (who, why, the held money's status before and after)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.catalog.rules import WalletKind
from langganan.events import service as events
from langganan.invoices import repository as invoices_repo
from langganan.invoices.models import InvoiceStatus
from langganan.kit.db import Database
from langganan.kit.errors import Conflict, DomainError, Unprocessable
from langganan.kit.work import Work
from langganan.payments import repository, rules, service
from langganan.payments.gateway import Gateway
from langganan.payments.models import (
    Payment,
    RefundMethod,
    UnappliedPayment,
    UnappliedReason,
    UnappliedStatus,
)
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets
from langganan.wallets.models import EntryType

MIN_REASON = 3


def _open(session: Work, held_id: str) -> UnappliedPayment:
    held = repository.unapplied(session, held_id, for_update=True)
    if held.status != UnappliedStatus.OPEN:
        raise Conflict("unapplied_payment_resolved", f"This money is {held.status} already; nothing was changed.")
    if held.amount <= 0:
        raise Conflict("unapplied_payment_owed", "This is money the account owes (a payment taken back), not money "
                       "held for it: collect it with an invoice.")
    return held


def _reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Unprocessable("reason_required", "Say why, in a few words (it is recorded).", param="reason")
    return reason


def _record(held: UnappliedPayment, by: Actor, reason: str, now: datetime) -> None:
    """Who acted on held money, when and why."""
    held.resolved_at, held.resolved_by, held.resolution_reason = now, by.tag[:200], reason


def _resolve(held: UnappliedPayment, status: UnappliedStatus, by: Actor, reason: str, now: datetime) -> None:
    held.status = status
    _record(held, by, reason, now)


def _view(held: UnappliedPayment) -> dict[str, str | int | None]:
    return {"status": held.status.value, "amount": held.amount, "invoice_id": held.invoice_id,
            "account_id": held.account_id, "refund_method": held.refund_method.value if held.refund_method else None,
            "refund_ref": held.refund_ref}


def _audit(session: Work, by: Actor, action: str, held: UnappliedPayment, before: dict[str, str | int | None],
           reason: str, now: datetime, **after: str | int | None) -> None:
    audit.record(session, by, action, target_type="unapplied_payment", target_id=held.id, now=now,
                 account_id=held.account_id, reason=reason, before=before, after={**_view(held), **after})


def apply(session: Work, held_id: str, invoice_id: str, *, by: Actor, reason: str, now: datetime) -> str:
    """Apply held money to an open invoice; returns what happened (`applied`, or `held_underpayment` when it
    falls short and waits for the rest)."""
    reason = _reason(reason)
    held = _open(session, held_id)
    before = _view(held)
    if held.account_id is None and held.payment_id is None:  # a statement line nobody's: becomes the invoice's
        receipt = repository.receipt_of_held(session, held)
        _payment, outcome = service.assign_held(session, receipt.id, held.id, invoice_id, f"unapplied {held.id}",
                                                reason, now)
        _record(held, by, reason, now)
        _audit(session, by, "unapplied.applied", held, before, reason, now, outcome=outcome, invoice_id=invoice_id)
        return outcome
    invoice = invoices_repo.get(session, invoice_id, for_update=True)
    if invoice.account_id != held.account_id:
        raise Conflict("account_mismatch", "This money is another account's; apply it to one of its own invoices.",
                       param="invoice_id")
    if invoice.status not in (InvoiceStatus.UNPAID, InvoiceStatus.EXPIRED) or not service.can_apply(session, invoice,
                                                                                                      now):
        raise Conflict("invoice_not_payable", f"Invoice {invoice.number} is {invoice.status}; it cannot be paid.",
                       param="invoice_id")
    if invoice.currency != held.currency:
        raise Conflict("currency_mismatch", f"Invoice {invoice.number} is in {invoice.currency}; this money is in "
                       f"{held.currency}.", param="invoice_id")
    _record(held, by, reason, now)
    waiting = [u for u in repository.underpayments(session, invoice.id) if u.id != held.id]
    settlement = rules.settle(invoice.total, [u.amount for u in waiting], held.amount)
    held.invoice_id = invoice.id
    if not settlement.pays:  # short: waits as an underpayment of the invoice for the rest
        held.reason = UnappliedReason.UNDERPAYMENT
        repository.note_underpayment(session, held)
        events.emit(session, "payment.unapplied_applied", held.account_id,
                    {"unapplied_payment_id": held.id, "invoice_id": invoice.id, "amount": held.amount,
                     "reason": reason, "outcome": "held_underpayment"}, now)
        _audit(session, by, "unapplied.applied", held, before, reason, now, outcome="held_underpayment")
        return "held_underpayment"
    payment = service.manual_payment(session, invoice, f"unapplied {held.id}", reason, now)
    outcome = service.pay_with(session, payment, invoice, held.amount, held.currency, [*waiting, held],
                               settlement.surplus, now)
    events.emit(session, "payment.unapplied_applied", held.account_id,
                {"unapplied_payment_id": held.id, "invoice_id": invoice.id, "payment_id": payment.id,
                 "amount": held.amount, "reason": reason, "outcome": outcome}, now)
    _audit(session, by, "unapplied.applied", held, before, reason, now, outcome=outcome, payment_id=payment.id)
    return outcome


def credit_wallet(session: Work, held_id: str, wallet: str, *, by: Actor, reason: str, now: datetime) -> int:
    """Held money becomes paid credit in one of its account's wallets; returns the wallet's balance after."""
    reason = _reason(reason)
    held = _open(session, held_id)
    if held.account_id is None:
        raise Conflict("unapplied_payment_unassigned", "This money is nobody's yet: apply it to an invoice of the "
                       "account it belongs to first, or refund it.")
    try:
        kind = WalletKind(wallet)
    except ValueError:
        raise Unprocessable("invalid_wallet", "wallet must be conversation or broadcast.", param="wallet") from None
    target = wallets_repo.get(session, held.account_id, kind, for_update=True)
    before = _view(held)
    after = wallets.record(session, target, EntryType.ADJUSTMENT, held.amount, now, reference=held.id)
    _resolve(held, UnappliedStatus.CREDITED, by, reason, now)
    _audit(session, by, "unapplied.credited", held, {**before, "wallet_balance": after - held.amount},
           reason, now, wallet=kind.value, wallet_balance=after)
    events.emit(session, "payment.unapplied_credited", held.account_id,
                {"unapplied_payment_id": held.id, "wallet": kind, "amount": held.amount, "balance": after,
                 "reason": reason}, now)
    return after


def refund(db: Database, gateway: Gateway, held_id: str, *, by: Actor, reason: str, method: str,
           reference: str | None, clock_now: Callable[[Work], datetime]) -> UnappliedPayment:
    """Give held money back. `manual`: a transfer the operator made, recorded with its `reference`. `gateway`:
    the gateway's refund of the payment that brought the money, claimed and committed first, the gateway
    called outside any transaction (the held row's id is the idempotency key), its answer recorded after."""
    reason = _reason(reason)
    try:
        how = RefundMethod(method)
    except ValueError:
        raise Unprocessable("invalid_refund_method", "method must be gateway or manual.", param="method") from None
    if how == RefundMethod.MANUAL:
        if not reference or not reference.strip():
            raise Unprocessable("reference_required", "Give the bank transfer's reference.", param="reference")
        with db.transaction() as session:
            now = clock_now(session)
            held = _open(session, held_id)
            before = _view(held)
            held.refund_method, held.refund_ref = how, reference.strip()[:200]
            _resolve(held, UnappliedStatus.REFUNDED, by, reason, now)
            _refunded_event(session, held, now)
            _audit(session, by, "unapplied.refunded", held, before, reason, now)
            session.flush()
            session.expunge(held)
            return held
    with db.transaction() as session:
        now = clock_now(session)
        held = _open(session, held_id)
        paid_by = session.get(Payment, held.payment_id) if held.payment_id else None
        if paid_by is None or paid_by.provider != gateway.name or not paid_by.provider_ref:
            raise Conflict("refund_not_through_gateway", "This money did not come through the gateway (or its "
                           "transaction is unknown): refund it by bank transfer and record it with method manual.",
                           param="method")
        held.status, held.refund_method = UnappliedStatus.REFUNDING, how
        call = (paid_by.id, paid_by.provider_ref, held.amount, held.currency)
    try:
        answer = gateway.refund(reference=call[0], provider_ref=call[1], amount=call[2], currency=call[3],
                                idempotency_key=held_id, reason=reason)
    except DomainError:
        with db.transaction() as session:
            back = repository.unapplied(session, held_id, for_update=True)
            back.status, back.refund_method = UnappliedStatus.OPEN, None
        raise
    with db.transaction() as session:
        now = clock_now(session)
        held = repository.unapplied(session, held_id, for_update=True)
        if answer.succeeded or answer.pending:
            before = {**_view(held), "status": UnappliedStatus.OPEN.value, "refund_method": None}
            held.refund_ref = answer.provider_ref
            _resolve(held, UnappliedStatus.REFUNDED, by, reason, now)
            _refunded_event(session, held, now)
            _audit(session, by, "unapplied.refunded", held, before, reason, now)
            session.flush()
            session.expunge(held)
            return held
        held.status, held.refund_method = UnappliedStatus.OPEN, None  # refused: held again (committed below)
    raise Conflict("refund_refused", f"The gateway refused the refund ({answer.failure_code}): "
                   f"{answer.failure_message or 'no reason given'}.")


def _refunded_event(session: Work, held: UnappliedPayment, now: datetime) -> None:
    events.emit(session, "payment.unapplied_refunded", held.account_id,
                {"unapplied_payment_id": held.id, "amount": held.amount, "currency": held.currency,
                 "method": held.refund_method, "refund_ref": held.refund_ref}, now)
