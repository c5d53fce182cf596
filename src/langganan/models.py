"""Every table, imported once so the metadata (and Alembic) sees them all."""

from langganan.accounts.models import Account, TrialClaim
from langganan.addons.models import SubscriptionAddOn
from langganan.apikeys.models import ApiKey
from langganan.audit.models import AuditEntry
from langganan.catalog.models import CatalogVersion
from langganan.console.models import LoginAttempt, StaffUser
from langganan.events.models import Event
from langganan.invoices.models import Invoice, InvoiceLine, InvoiceSequence
from langganan.kit.db import Base
from langganan.kit.models import EngineClock, GeneratedSecret, IdempotencyRecord
from langganan.legacy.models import LegacyImport
from langganan.notifications.models import Delivery, DeliveryAttempt, Notification, QuotaAlert
from langganan.payments.models import (
    AutoTopUp,
    CardSetupRecord,
    CreditRefund,
    GatewayNotification,
    Payment,
    PaymentMethod,
    PaymentReceipt,
    UnappliedPayment,
)
from langganan.portal.models import PortalLink
from langganan.promotions.models import Promotion, PromotionRedemption
from langganan.statements.models import BankStatement, BankStatementLine
from langganan.subscriptions.models import Subscription, SubscriptionPeriod
from langganan.tax.models import TaxInvoiceNumber
from langganan.wallets.models import Reservation, SpendHour, Wallet, WalletEntry
from langganan.web.models import WebSession
from langganan.webhooks.models import WebhookEndpoint

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "AutoTopUp",
    "BankStatement",
    "BankStatementLine",
    "CardSetupRecord",
    "CatalogVersion",
    "CreditRefund",
    "Delivery",
    "DeliveryAttempt",
    "EngineClock",
    "Event",
    "GatewayNotification",
    "GeneratedSecret",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "LegacyImport",
    "LoginAttempt",
    "Notification",
    "Payment",
    "PaymentMethod",
    "PaymentReceipt",
    "PortalLink",
    "Promotion",
    "PromotionRedemption",
    "QuotaAlert",
    "Reservation",
    "SpendHour",
    "StaffUser",
    "Subscription",
    "SubscriptionAddOn",
    "SubscriptionPeriod",
    "TaxInvoiceNumber",
    "TrialClaim",
    "UnappliedPayment",
    "Wallet",
    "WalletEntry",
    "WebSession",
    "WebhookEndpoint",
    "metadata",
]
