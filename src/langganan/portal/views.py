"""Read models of the portal pages, assembled from the domain repositories (queries only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import lazyload

from langganan.accounts.models import Account
from langganan.addons import repository as addons_repo
from langganan.addons.models import AddOnStatus
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Catalog, WalletKind
from langganan.config import Settings
from langganan.entitlements import service as entitlements
from langganan.invoices import repository as invoices_repo
from langganan.invoices.actions import AddOnAction, PurchaseAction, RenewalAction, TopUpAction, UpgradeAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.errors import DomainError, NotFound
from langganan.kit.locales import format_when
from langganan.kit.work import Work
from langganan.payments import repository as payments_repo
from langganan.payments.models import Payment, PaymentStatus
from langganan.portal import lines, quotes
from langganan.portal import repository as portal_repo
from langganan.promotions import service as promotions
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import Subscription, SubscriptionStatus
from langganan.subscriptions.schedule import PastDue, Policy, past_due
from langganan.subscriptions.timeline import timeline
from langganan.wallets import repository as wallets_repo
from langganan.wallets.models import EntryType, Wallet, WalletEntry
from langganan.web.i18n import Translator

WALLET_ORDER = tuple(WalletKind)
CHART_DAYS = 14


def own_invoice(session: Work, account_id: str, invoice_id: str, *, with_lines: bool = True) -> Invoice:
    """One of the visitor's invoices; another account's id is simply not found. Without `with_lines`
    its lines are loaded only if read (a page that does not show them)."""
    invoice = session.get(Invoice, invoice_id, options=None if with_lines else [lazyload(Invoice.lines)])
    if invoice is None or invoice.account_id != account_id:
        raise NotFound("invoice", invoice_id)
    return invoice


def promotion_note(session: Work, sub: Subscription) -> dict[str, Any] | None:
    """The subscription's active promotion, as the API's `promotion` field shows it ({code,
    percent_off|amount_off, ends_at, ...}), read from the redemption the subscription points at."""
    return promotions.view(session, sub)


@dataclass(frozen=True)
class WalletShown:
    """A wallet as the customer may spend it now: free credit past its expiry is left out even before the due
    work writes its expiry entry (`wallets.service.expire_grant_if_due` does that on the next touch)."""

    kind: str
    currency: str
    balance: int  # spendable: paid credit and unexpired free credit
    free: int
    free_expires_at: datetime | None
    paid: int
    reserved: int  # held for broadcasts (already out of the balance)


def shown_wallet(wallet: Wallet, now: datetime) -> WalletShown:
    expired = wallet.granted_expires_at is not None and wallet.granted_expires_at <= now
    free = 0 if expired else wallet.granted_balance
    paid = wallet.balance - wallet.granted_balance
    return WalletShown(kind=wallet.kind, currency=wallet.currency, balance=paid + free, free=free,
                       free_expires_at=wallet.granted_expires_at if free else None, paid=paid,
                       reserved=wallet.reserved)


@dataclass
class Overview:
    account: Account
    sub: Subscription
    plan_name: str
    is_paid: bool
    pending_plan_name: str | None
    limits: dict[str, entitlements.Limit]
    resets_at: datetime | None
    items: list[dict[str, Any]]
    wallets: list[WalletShown]
    invoices: list[Invoice]
    unpaid: list[Invoice]
    promotion: dict[str, Any] | None
    renewal: quotes.Renewal | None  # the next period and its price (Renew dialog, auto-renew statement)
    auto_renew: quotes.AutoRenew
    past_due: PastDue | None = None  # when the card is tried again and when the account moves to Free
    decline: str | None = None  # why the renewal's last card charge failed (a failure code)
    renewal_id: str | None = None  # the unpaid renewal invoice of a past-due subscription


def past_due_note(session: Work, sub: Subscription, policy: Policy, unpaid: list[Invoice]) -> dict[str, Any]:
    """A past-due subscription's facts for its page: the dates (schedule.past_due), the renewal invoice
    still open and the decline of its last card charge."""
    dates = past_due(timeline(session, sub), policy)
    if dates is None:
        return {}
    renewal = next((inv for inv in unpaid if inv.type == InvoiceType.RENEWAL), None)
    last = payments_repo.latest_for_invoice(session, renewal.id) if renewal is not None else None
    decline = last.failure_code if last is not None and last.status == PaymentStatus.FAILED else None
    return {"past_due": dates, "decline": decline, "renewal_id": renewal.id if renewal else None}


def overview(session: Work, settings: Settings, account: Account, now: datetime) -> Overview:
    policy = Policy.from_settings(settings)
    sub = subs_repo.for_account(session, account.id)
    catalog = catalog_service.current(session)
    plan = subscriptions.plan_of(session, sub)
    _code, _features, limits, resets_at = entitlements.limits_for(session, account)
    pending = catalog.plans.get(sub.pending_plan) if sub.pending_plan else None
    recent, _ = invoices_repo.list_invoices(session, account_id=account.id, status=None, type_=None, limit=5,
                                            starting_after=None, with_lines=False)
    unpaid, _ = invoices_repo.list_invoices(session, account_id=account.id, status=InvoiceStatus.UNPAID, type_=None,
                                            limit=3,
                                            starting_after=None, with_lines=False)
    return Overview(account=account, sub=sub, plan_name=plan.name,
                    is_paid=sub.plan_code != catalog.default_plan and sub.status != SubscriptionStatus.TRIALING,
                    pending_plan_name=pending.name if pending else None, limits=limits, resets_at=resets_at,
                    items=add_on_items(session, sub, catalog),
                    wallets=[shown_wallet(w, now) for w in wallets_in_order(session, account.id)],
                    invoices=list(recent), unpaid=list(unpaid), promotion=promotion_note(session, sub),
                    renewal=quotes.renewal(session, settings, account, sub),
                    auto_renew=quotes.auto_renew(sub, payments_repo.methods_for(session, account.id)),
                    **past_due_note(session, sub, policy, list(unpaid)))


def wallets_in_order(session: Work, account_id: str) -> list[Wallet]:
    """Conversation first, as the seed lists them."""
    return sorted(wallets_repo.for_account(session, account_id), key=lambda w: WALLET_ORDER.index(w.kind))


def add_on_items(session: Work, sub: Subscription, catalog: Catalog) -> list[dict[str, Any]]:
    out = []
    for it in addons_repo.live_items(session, sub.id):
        add_on = catalog.add_ons.get(it.add_on_code)
        out.append({"id": it.id, "code": it.add_on_code, "name": add_on.name if add_on else it.add_on_code,
                    "quantity": it.quantity,
                    "status": it.status,
                    "renews_at": sub.current_period_end if it.status == AddOnStatus.ACTIVE else None,
                    "ends_at": it.ends_at})
    return out


def plan_choices(session: Work, settings: Settings, account: Account, interval: str,
                 now: datetime) -> list[dict[str, Any]]:
    """Every plan with what choosing it means now: the prorated charge, or when a downgrade applies
    and which limits block it, and the facts its confirmation dialog states (quotes.choice)."""
    sub = subs_repo.for_account(session, account.id)
    catalog = catalog_service.current(session)
    conversation = next((w for w in wallets_repo.for_account(session, account.id)
                         if w.kind == WalletKind.CONVERSATION), None)
    out = []
    for plan in catalog.plans_by_rank():
        choice: dict[str, Any] = {"plan": plan, "price": plan.price(interval), "current": False, "quote": None,
                                  "blocked": [], "error": None, "dialog": None}
        if (plan.code == sub.plan_code and (interval == sub.interval or plan.is_free)
                and sub.status != SubscriptionStatus.TRIALING):
            choice["current"] = True
        else:
            try:
                quote, blocked = subscriptions.preview(session, account, plan.code, interval, now)
                choice["quote"], choice["blocked"] = quote, blocked
                choice["dialog"] = quotes.choice(session, settings, account, sub, quote, conversation, now)
            except DomainError as exc:
                choice["error"] = exc.code
        out.append(choice)
    return out


def latest_payment(session: Work, invoice: Invoice) -> Payment | None:
    return payments_repo.latest_for_invoice(session, invoice.id)


def daily_spend(session: Work, wallet: Wallet, tz: str, now: datetime,
                days: int = CHART_DAYS) -> list[tuple[datetime, int]]:
    """Spend per local day over the last `days` days, from the wallet's hourly spend rows."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [(today - timedelta(days=days - 1 - i)) for i in range(days + 1)]
    totals = [0] * days
    first = starts[0]
    for hour, amount in wallets_repo.spend_by_hour(session, wallet.id, starts[0].astimezone(UTC),
                                                   starts[-1].astimezone(UTC)):
        day = (hour.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0) - first).days
        if 0 <= day < days:
            totals[day] += amount
    return [(starts[i], totals[i]) for i in range(days)]


def add_on_name(t: Translator, code: str, catalog_name: str | None) -> str:
    """An add-on's name in the page's language (the catalog's names are English; `add_on.<code>` translates)."""
    return t(f"add_on.{code}") if t.has(f"add_on.{code}") else (catalog_name or code)


def package_labels(session: Work, invoices: Sequence[Invoice], t: Translator) -> dict[str, str]:
    """What each invoice is for, in the page's language, from what it does (its action) rather than the English
    `package` text copied at issue (kept as it is for an invoice without such an action)."""
    catalog = catalog_service.current(session)
    out: dict[str, str] = {}
    for inv in invoices:
        action = inv.action
        if isinstance(action, PurchaseAction | UpgradeAction | RenewalAction):
            plan = catalog.plans.get(action.plan)
            out[inv.id] = t("package.plan", plan=plan.name if plan else action.plan,
                            interval=t(f"package.{action.interval}"))
        elif isinstance(action, AddOnAction):
            add_on = catalog.add_ons.get(action.add_on)
            out[inv.id] = t("package.add_on", name=add_on_name(t, action.add_on, add_on.name if add_on else None),
                            n=action.quantity)
        elif isinstance(action, TopUpAction):
            out[inv.id] = t("package.top_up", wallet=t(f"wallet.{action.wallet}"))
        else:
            out[inv.id] = inv.package or ""
    return out


def captured_amounts(session: Work, entries: Sequence[WalletEntry]) -> dict[int, int]:
    """What each capture entry among `entries` delivered, in money: its messages at the reservation's unit
    price. (A capture moves nothing: the hold took the money; the history still shows what was spent.)"""
    captures = [e for e in entries if e.type == EntryType.CAPTURE and e.reference]
    held = portal_repo.reservations(session, {e.reference for e in captures if e.reference})
    return {e.id: held[e.reference].unit_price * (e.quantity or 0)
            for e in captures if e.reference in held}


def line_texts(session: Work, invoice: Invoice, t: Translator) -> dict[int, str]:
    """Each line of `invoice` described in `t`'s language (portal.lines), by position."""
    catalog = catalog_service.current(session)
    names = {a.name: add_on_name(t, code, a.name) for code, a in catalog.add_ons.items()}

    def month(when: datetime) -> str:
        return format_when(when.replace(day=15, tzinfo=UTC), "UTC", t.lang, "MMMM y")

    return {ln.position: lines.describe(ln.description, ln.kind, t, names, month) for ln in invoice.lines}
