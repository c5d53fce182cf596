"""A top-up is an invoice; the wallet is credited only when it is paid (DESIGN: Wallets)."""

from __future__ import annotations

from datetime import datetime, timedelta

from langganan.accounts.models import Account
from langganan.accounts.service import require_billing_info
from langganan.catalog.rules import WalletKind
from langganan.config import Settings
from langganan.invoices import service as invoices
from langganan.invoices.actions import TopUpAction
from langganan.invoices.models import Invoice, InvoiceType
from langganan.invoices.rules import Line
from langganan.kit.work import Work
from langganan.wallets import rules

WALLET_LABEL = {WalletKind.CONVERSATION: "Conversation balance", WalletKind.BROADCAST: "Broadcast balance"}


def issue(session: Work, settings: Settings, account: Account, wallet: str, amount: int,
          now: datetime) -> Invoice:
    rules.check_top_up(wallet, amount)
    require_billing_info(account)
    kind = WalletKind(wallet)
    label = WALLET_LABEL[kind]
    return invoices.issue(session, settings, account=account, type_=InvoiceType.TOP_UP,
                          lines=[Line("top_up", f"{label} top-up", 1, amount, amount)],
                          action=TopUpAction(wallet=kind, amount=amount), now=now,
                          expires_at=now + timedelta(days=settings.invoice_payment_days), package=label)
