"""Credit notes and the refunds behind them (issue 15).

A credit note corrects a paid invoice (issued invoices never change): an invoice of type credit_note that refers
to the original, with negative lines and figures (invoices/credits.py reverses DPP and PPN in proportion), its
own number in the month's sequence and a PDF. Full or partial; the credit notes of one invoice add up to at most
its total. Only a paid invoice is credited: an unpaid one is canceled instead (409 `invoice_not_paid`), a credit
note is never credited (409). A credit note does nothing to the subscription: an operator who also wants the
plan to end cancels it separately.

Its money goes back one of three ways (`RefundTo`), recorded in `credit_refunds`:

- `manual`: a bank transfer the operator made, with its reference: recorded and issued in one transaction;
- `wallet`: paid credit in one of the account's wallets (a ledger adjustment of the credit note's total that
  refers to it), in one transaction; not for a top-up (its credit is in the wallet already);
- `gateway`: the gateway's refund of the payment that paid the original (only when that payment came through the
  configured gateway and has its transaction id, else 409 `refund_not_through_gateway`).

The gateway order, so that no number is wasted (numbers are gapless and a number, once given, is an invoice for
good) and no money goes back twice: (1) claim: a `pending` refund row with the credit note's id reserved, checked
against what is left to credit and committed; (2) the gateway's refund call outside any transaction, with the
credit note's id as idempotency key; (3) only once the gateway accepted, the credit note is issued (its number
taken in that transaction) and the claim marked succeeded. A gateway that refuses marks the claim failed (nothing
issued, no number taken). A gateway that does not answer leaves the claim pending: the refund may have happened,
so the amount stays claimed and the same request again resumes it with the same idempotency key (the gateway
answers a repeated key with the first refund); any other credit note of that invoice waits (409
`credit_note_in_progress`) meanwhile.

A top-up's credit note takes back only unspent paid credit: the price part of the credit (its PPN aside) leaves
the top-up's wallet with an adjustment referring to the credit note, refused with 422
`refund_exceeds_unspent_credit` when the wallet's paid credit (balance less granted credit) is smaller. For a
gateway refund that debit is made with the claim (so the credit cannot be spent while the gateway is asked) and
given back if the gateway refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from langganan.audit import service as audit
from langganan.audit.models import ActorKind
from langganan.audit.service import Actor
from langganan.catalog.rules import WalletKind
from langganan.config import Settings
from langganan.invoices import credits
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.invoices.actions import TopUpAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.db import Database
from langganan.kit.errors import Conflict, DomainError, Unavailable, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.payments import repository
from langganan.payments.gateway import Gateway
from langganan.payments.models import CreditRefund, CreditRefundStatus, Payment, PaymentStatus, RefundTo
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets
from langganan.wallets.models import EntryType

MIN_REASON = 3
log = logging.getLogger("langganan")


@dataclass(frozen=True)
class Request:
    amount: int | None  # what goes back, tax included; None: all that is left
    reason: str
    refund_to: RefundTo
    reference: str | None = None  # manual: the bank transfer's reference
    wallet: WalletKind = WalletKind.CONVERSATION  # refund_to wallet: which one


def request(*, amount: int | None, reason: str, refund_to: str, reference: str | None = None,
            wallet: str | None = None) -> Request:
    """A credit note request, checked (422 for what is missing or malformed)."""
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Unprocessable("reason_required", "Say why, in a few words (it is printed on the credit note).",
                            param="reason")
    try:
        how = RefundTo(refund_to)
    except ValueError:
        raise Unprocessable("invalid_refund_to", "refund_to must be gateway, wallet or manual.",
                            param="refund_to") from None
    reference = (reference or "").strip() or None
    if how == RefundTo.MANUAL and reference is None:
        raise Unprocessable("reference_required", "Give the bank transfer's reference.", param="reference")
    try:
        kind = WalletKind(wallet or WalletKind.CONVERSATION)
    except ValueError:
        raise Unprocessable("invalid_wallet", "wallet must be conversation or broadcast.", param="wallet") from None
    if amount is not None and amount <= 0:
        raise Unprocessable("invalid_amount", "A credit note gives back a positive amount.", param="amount")
    return Request(amount=amount, reason=reason[:500], refund_to=how, reference=reference and reference[:200],
                   wallet=kind)


def issue(db: Database, gateway: Gateway, settings: Settings, invoice_id: str, want: Request, *, by: Actor,
          clock_now: Callable[[Work], datetime]) -> str:
    """Issue a credit note for `invoice_id` and give its money back as `want` says; returns the credit note's
    id. See the module for the order of a gateway refund. The transaction that issues it writes its audit entry
    (`credit_note.issued`, by `by`)."""
    with db.transaction() as session:
        now = clock_now(session)
        original = _creditable(session, invoice_id)
        claim = _pending(session, original.id)
        if claim is not None:
            if want.refund_to != RefundTo.GATEWAY or (want.amount is not None and want.amount != claim.amount):
                raise Conflict("credit_note_in_progress", "A gateway refund of this invoice is waiting for the "
                               "gateway's answer: repeat that request (same amount) to finish it first.")
        else:
            credit = credits.split(invoices.figures_of(original), invoices.credited_so_far(session, original),
                                   want.amount)
            claim = _claim(session, original, credit, want, by.tag, now, gateway.name)
            if want.refund_to != RefundTo.GATEWAY:
                _settle(session, settings, original, claim, want.reason, claim.reference, now, by)
                return claim.credit_note_id
        payment = session.get(Payment, claim.payment_id) if claim.payment_id else None
        assert payment is not None and payment.provider_ref is not None
        claim_id, key, amount, currency, reason = (claim.id, claim.credit_note_id, claim.amount, claim.currency,
                                                   claim.reason)
        payment_id, provider_ref = payment.id, payment.provider_ref
    try:
        answer = gateway.refund(reference=payment_id, provider_ref=provider_ref, amount=amount, currency=currency,
                                idempotency_key=key, reason=reason)
    except Unavailable:
        raise  # the refund may have happened: the claim stays pending, the same request resumes it
    except DomainError as refused:
        _fail(db, claim_id, refused.code, clock_now)
        raise
    if not (answer.succeeded or answer.pending):
        _fail(db, claim_id, answer.failure_code or "refund_refused", clock_now)
        raise Conflict("refund_refused", f"The gateway refused the refund ({answer.failure_code}): "
                       f"{answer.failure_message or 'no reason given'}. Nothing was credited.")
    with db.transaction() as session:
        now = clock_now(session)
        original = invoices_repo.get(session, invoice_id, for_update=True)
        claim = session.get(CreditRefund, claim_id, with_for_update=True)
        assert claim is not None
        if claim.status == CreditRefundStatus.SUCCEEDED:  # (a concurrent resume finished it first)
            return claim.credit_note_id
        if claim.status != CreditRefundStatus.PENDING:
            raise Conflict("refund_refused", "The gateway refused this refund meanwhile; nothing was credited.")
        _settle(session, settings, original, claim, claim.reason, answer.provider_ref, now, by)
        return claim.credit_note_id


def resume_stalled(db: Database, gateway: Gateway, settings: Settings, now: datetime, limit: int) -> int:
    """Gateway refunds left pending by an answer that never came (older than
    `payment_status_check_minutes`): asked again with the same idempotency key (the gateway answers a repeated
    key with the first refund), so each is issued, or failed, without anyone repeating the request. A gateway
    still not answering is asked again at the next run. Returns how many were finished."""
    older_than = now - timedelta(minutes=settings.payment_status_check_minutes)
    with db.transaction() as session:
        stalled = repository.stalled_credit_refunds(session, gateway.name, older_than, limit)
    finished = 0
    for invoice_id, amount, reason, by in stalled:
        want = Request(amount=amount, reason=reason, refund_to=RefundTo.GATEWAY)
        worker = Actor(ActorKind.SYSTEM, "worker", f"worker, finishing the request of {by}")
        try:
            issue(db, gateway, settings, invoice_id, want, by=worker, clock_now=lambda _s: now)
        except DomainError as exc:
            log.warning("resuming the refund of invoice %s failed: %s", invoice_id, exc.message)
            continue
        finished += 1
    return finished


def _creditable(session: Work, invoice_id: str) -> Invoice:
    original = invoices_repo.get(session, invoice_id, for_update=True)
    if original.type == InvoiceType.CREDIT_NOTE:
        raise Conflict("credit_note_of_credit_note", "A credit note cannot be credited.")
    if original.status != InvoiceStatus.PAID:
        raise Conflict("invoice_not_paid", f"Invoice {original.number} is {original.status}: only a paid invoice "
                       "gets a credit note (an unpaid one is canceled instead).")
    return original


def _pending(session: Work, invoice_id: str) -> CreditRefund | None:
    return session.scalars(select(CreditRefund).where(CreditRefund.invoice_id == invoice_id,
                                                      CreditRefund.status == CreditRefundStatus.PENDING)
                           .with_for_update()).first()


def _claim(session: Work, original: Invoice, credit: credits.Figures, want: Request, by: str, now: datetime,
           gateway_name: str) -> CreditRefund:
    claim = CreditRefund(id=new_id("rfn"), credit_note_id=new_id("inv"), invoice_id=original.id,
                         account_id=original.account_id, amount=credit.total, currency=original.currency,
                         method=want.refund_to, status=CreditRefundStatus.PENDING, reason=want.reason,
                         reference=want.reference if want.refund_to == RefundTo.MANUAL else None,
                         wallet=None, wallet_amount=0, requested_by=by[:200], created_at=now)
    action = original.action
    if isinstance(action, TopUpAction):
        if want.refund_to == RefundTo.WALLET:
            raise Conflict("refund_to_wallet_of_top_up", "A top-up's credit is in the wallet already: refund it "
                           "through the gateway or by bank transfer.", param="refund_to")
        wallet = wallets_repo.get(session, original.account_id, action.wallet, for_update=True)
        unspent = wallet.balance - wallet.granted_balance
        if credit.price > unspent:
            raise Unprocessable("refund_exceeds_unspent_credit", f"Only {unspent} of the top-up's credit is "
                                f"unspent paid credit; a refund can give back at most that (here {credit.price}).",
                                param="amount")
        wallets.record(session, wallet, EntryType.ADJUSTMENT, -credit.price, now, reference=claim.credit_note_id)
        claim.wallet, claim.wallet_amount = action.wallet, -credit.price
    if want.refund_to == RefundTo.GATEWAY:
        paid_by = session.scalars(select(Payment).where(Payment.invoice_id == original.id,
                                                        Payment.status == PaymentStatus.SUCCEEDED)).first()
        if paid_by is None or paid_by.provider != gateway_name or not paid_by.provider_ref:
            raise Conflict("refund_not_through_gateway", "This invoice was not paid through the gateway (or its "
                           "transaction is unknown): refund it by bank transfer (manual) or as wallet credit.",
                           param="refund_to")
        claim.payment_id = paid_by.id
    elif want.refund_to == RefundTo.WALLET:
        wallet = wallets_repo.get(session, original.account_id, want.wallet, for_update=True)
        wallets.record(session, wallet, EntryType.ADJUSTMENT, credit.total, now, reference=claim.credit_note_id)
        claim.wallet, claim.wallet_amount = want.wallet, credit.total
    session.add(claim)
    session.flush()
    return claim


def _settle(session: Work, settings: Settings, original: Invoice, claim: CreditRefund, reason: str,
            reference: str | None, now: datetime, by: Actor) -> Invoice:
    credited = invoices.credited_so_far(session, original)
    credit = credits.split(invoices.figures_of(original), credited, claim.amount)
    claim.status, claim.reference, claim.completed_at = CreditRefundStatus.SUCCEEDED, reference, now
    refund: dict[str, Any] = {"refund_to": str(claim.method), "refund_reference": reference,
                              "wallet": claim.wallet, "amount": claim.amount}
    note = invoices.issue_credit_note(session, settings, original=original, credit=credit, reason=reason, now=now,
                                      credit_note_id=claim.credit_note_id, refund=refund)
    audit.record(session, by, "credit_note.issued", target_type="invoice", target_id=original.id, now=now,
                 account_id=original.account_id, reason=reason, before={"credited": credited.total},
                 after={"credited": credited.total + claim.amount, "credit_note_id": note.id,
                        "credit_note_number": note.number, **refund})
    return note


def _fail(db: Database, claim_id: str, code: str, clock_now: Callable[[Work], datetime]) -> None:
    """The gateway refused: the claim fails, a top-up's debited credit goes back to its wallet."""
    with db.transaction() as session:
        now = clock_now(session)
        claim = session.get(CreditRefund, claim_id, with_for_update=True)
        assert claim is not None
        if claim.status != CreditRefundStatus.PENDING:
            return
        if claim.wallet_amount and claim.wallet:
            wallet = wallets_repo.get(session, claim.account_id, claim.wallet, for_update=True)
            wallets.record(session, wallet, EntryType.ADJUSTMENT, -claim.wallet_amount, now,
                           reference=claim.credit_note_id)
            claim.wallet_amount = 0
        claim.status, claim.failure_code, claim.completed_at = CreditRefundStatus.FAILED, code[:60], now
