"""Auto top-up: when a wallet's balance falls below its threshold, the due worker charges the account's card
(the one chosen, else the default) to bring it back up to the target, within the top-up limits, at most once per
`auto_top_up_interval_minutes`, within a monthly cap; never more than one recharge in flight (the wallet's
auto top-up row is claimed with SKIP LOCKED and names its open invoice); a decline pauses it and tells the
customer (`wallet.auto_top_up_paused`), until they turn it on again.

The recharge is an ordinary top-up invoice paid by card through the purchase path (rule 11: the pending payment
is committed, then charged), so the wallet is credited only when money was taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from langganan.accounts import repository as accounts_repo
from langganan.catalog.rules import WalletKind
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices.actions import TopUpAction
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.db import Database
from langganan.kit.errors import DomainError, PaymentRequired, Unprocessable
from langganan.kit.work import Work
from langganan.payments import repository, rules, service
from langganan.payments.gateway import Gateway
from langganan.payments.models import AutoTopUp, PaymentMethodType
from langganan.wallets import repository as wallets_repo
from langganan.wallets import topups
from langganan.wallets.models import Wallet
from langganan.wallets.rules import TOP_UP_LIMITS


@dataclass(frozen=True)
class Setting:
    enabled: bool
    threshold: int
    target: int
    payment_method_id: str | None = None
    monthly_cap: int | None = None


def configure(session: Work, account_id: str, kind: str, want: Setting, now: datetime) -> AutoTopUp:
    """Set a wallet's auto top-up; turning it on again lifts a pause."""
    try:
        wallet_kind = WalletKind(kind)
    except ValueError:
        raise Unprocessable("invalid_wallet", "The wallet must be 'conversation' or 'broadcast'.",
                            param="kind") from None
    low, high = TOP_UP_LIMITS[wallet_kind]
    if want.threshold < 0:
        raise Unprocessable("invalid_threshold", "threshold must be 0 or more.", param="threshold")
    if want.target <= want.threshold or want.target > high:
        raise Unprocessable("invalid_target", f"target must be above threshold and at most {high}.", param="target")
    if want.monthly_cap is not None and want.monthly_cap < low:
        raise Unprocessable("invalid_monthly_cap", f"monthly_cap must be at least the smallest top-up ({low}).",
                            param="monthly_cap")
    if want.payment_method_id is not None:
        repository.payment_method(session, account_id, want.payment_method_id)
    elif want.enabled and not any(pm.is_default for pm in repository.methods_for(session, account_id)):
        raise Unprocessable("payment_method_required", "Save a card first: auto top-up charges a saved card.",
                            param="payment_method_id")
    wallet = wallets_repo.get(session, account_id, wallet_kind)
    row = session.get(AutoTopUp, wallet.id, with_for_update=True)
    if row is None:
        row = AutoTopUp(wallet_id=wallet.id, account_id=account_id, month_total=0, updated_at=now)
        session.add(row)
    row.enabled, row.threshold, row.target = want.enabled, want.threshold, want.target
    row.payment_method_id, row.monthly_cap, row.updated_at = want.payment_method_id, want.monthly_cap, now
    if want.enabled:
        row.paused_at = None
    events.emit(session, "wallet.auto_top_up_changed", account_id,
                {"wallet": wallet_kind, "enabled": want.enabled, "threshold": want.threshold, "target": want.target,
                 "monthly_cap": want.monthly_cap}, now)
    session.flush()
    return row


def _card(session: Work, row: AutoTopUp) -> str | None:
    if row.payment_method_id is not None:
        return row.payment_method_id
    return next((pm.id for pm in repository.methods_for(session, row.account_id) if pm.is_default), None)


def start_recharges(session: Work, settings: Settings, gateway: Gateway, now: datetime, limit: int) -> list[str]:
    """Claim the wallets whose auto top-up is due and open one recharge each (a top-up invoice and its pending
    card payment); returns the payment ids to charge once this commits."""
    month = now.strftime("%Y-%m")
    rows = repository.due_auto_top_ups(session, now - timedelta(minutes=settings.auto_top_up_interval_minutes),
                                       limit)
    started: list[str] = []
    for row in rows:
        if row.invoice_id is not None:  # the recharge in flight: done with once its invoice is no longer open
            invoice = session.get(Invoice, row.invoice_id)
            if invoice is not None and invoice.status == InvoiceStatus.UNPAID:
                continue
            row.invoice_id = None
        wallet = session.get(Wallet, row.wallet_id)
        assert wallet is not None
        if row.month != month:
            row.month, row.month_total = month, 0
        amount = rules.auto_top_up_amount(wallet.balance, row.threshold, row.target, TOP_UP_LIMITS[wallet.kind],
                                          row.month_total, row.monthly_cap)
        card = _card(session, row)
        if amount is None or card is None:
            continue
        account = accounts_repo.get(session, row.account_id)
        try:
            with session.begin_nested():
                invoice = topups.issue(session, settings, account, wallet.kind, amount, now)
                payment = service.start(session, settings, gateway, invoice, method=PaymentMethodType.CARD,
                                        payment_method_id=card, bank=None, now=now)
        except DomainError as exc:  # no billing information, a card gone: paused, the customer is told
            _pause(session, row, exc.code, now)
            continue
        row.invoice_id, row.last_at, row.month_total = invoice.id, now, row.month_total + amount
        events.emit(session, "wallet.auto_top_up_started", row.account_id,
                    {"wallet": wallet.kind, "amount": amount, "invoice_id": invoice.id, "balance": wallet.balance},
                    now)
        started.append(payment.id)
    return started


def _pause(session: Work, row: AutoTopUp, reason: str | None, now: datetime) -> None:
    row.paused_at, row.updated_at = now, now
    wallet = session.get(Wallet, row.wallet_id)
    events.emit(session, "wallet.auto_top_up_paused", row.account_id,
                {"wallet": wallet.kind if wallet else None, "reason": reason}, now)


def run(db: Database, settings: Settings, gateway: Gateway, now: datetime, limit: int) -> int:
    """Start the recharges that are due, charge them (outside any transaction), pause those declined."""
    with db.transaction() as session:
        payment_ids = start_recharges(session, settings, gateway, now, limit)
    for payment_id in payment_ids:
        try:
            service.charge_card(db, settings, gateway, payment_id, lambda _s: now)
        except PaymentRequired as declined:
            with db.transaction() as session:
                row = session.scalars(select(AutoTopUp).join(Invoice, Invoice.id == AutoTopUp.invoice_id)
                                      .where(Invoice.id == declined.extra.get("invoice_id"))
                                      .with_for_update()).first()
                if row is not None:
                    invoice = session.get(Invoice, row.invoice_id) if row.invoice_id else None
                    if invoice is not None and isinstance(invoice.action, TopUpAction):
                        row.month_total = max(0, row.month_total - invoice.action.amount)  # nothing was taken
                    row.invoice_id = None
                    _pause(session, row, declined.code, now)
        except DomainError:
            continue  # the gateway is down: the pending payment waits for the status check; nothing doubles
    return len(payment_ids)
