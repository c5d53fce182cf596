"""Saved cards in the customer's hands: remove one, choose the default, choose the one auto-renew charges,
and be told before one expires.

A removed card is kept (the payments that used it name it) but never listed or charged again. The card
auto-renew charges cannot be removed while auto-renew is on with it: the customer switches auto-renew off
or to another card first, so a renewal never finds its card gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from langganan.events import service as events
from langganan.kit.errors import Conflict, Unprocessable
from langganan.kit.work import Work
from langganan.payments import repository, service
from langganan.payments.gateway import SavedCard
from langganan.payments.models import PaymentMethod
from langganan.subscriptions import repository as subscriptions_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import Subscription

EXPIRY_NOTICE_DAYS = 14  # payment_method.expiring is sent this many days before the card's last valid day


def save_from_setup(session: Work, account_id: str, provider: str, saved: SavedCard, now: datetime) -> PaymentMethod:
    """Keep the card a gateway card setup saved (as `payments.service.save_method` keeps a token): refused when
    expired; the account's first card becomes its default; `payment_method.created` is sent. A card already
    kept under the same token is that card (a setup finished twice saves it once)."""
    existing = repository.method_by_token(session, account_id, saved.token)
    if existing is not None:
        return existing
    if (saved.card.exp_year, saved.card.exp_month) < (now.year, now.month):
        raise Unprocessable("card_expired", "The card has expired.", param="provider_token")
    return service._add_method(session, account_id, provider, saved.token, saved.card, now)


def remove(session: Work, account_id: str, pm_id: str, now: datetime) -> PaymentMethod:
    pm = repository.payment_method(session, account_id, pm_id)
    sub = subscriptions_repo.for_account(session, account_id, for_update=True)
    if sub.auto_renew and sub.payment_method_id == pm.id:
        raise Conflict("payment_method_in_use", f"Auto-renew charges the {pm.brand} card ending in {pm.last4}. "
                       "Switch auto-renew off or to another card first.", param="payment_method_id")
    pm.removed_at = now
    if pm.is_default:
        pm.is_default = False
        rest = [m for m in repository.methods_for(session, account_id) if m.id != pm.id]
        if rest:
            rest[-1].is_default = True  # the newest remaining card
    events.emit(session, "payment_method.removed", account_id,
                {"payment_method_id": pm.id, "brand": pm.brand, "last4": pm.last4}, now)
    return pm


def make_default(session: Work, account_id: str, pm_id: str, now: datetime) -> PaymentMethod:
    chosen = repository.payment_method(session, account_id, pm_id)
    for pm in repository.methods_for(session, account_id):
        pm.is_default = pm.id == chosen.id
    events.emit(session, "payment_method.default_changed", account_id,
                {"payment_method_id": chosen.id, "brand": chosen.brand, "last4": chosen.last4}, now)
    return chosen


def set_auto_renew(session: Work, account_id: str, enabled: bool, payment_method_id: str | None,
                   now: datetime) -> Subscription:
    """Auto-renew on, charging the saved card named or else the default card, or off."""
    sub = subscriptions_repo.for_account(session, account_id, for_update=True)
    card: PaymentMethod | None = None
    if enabled:
        if payment_method_id is not None:
            card = repository.payment_method(session, account_id, payment_method_id)
        else:
            card = next((pm for pm in repository.methods_for(session, account_id) if pm.is_default), None)
            if card is None:
                raise Conflict("payment_method_required", "Save a card first: auto-renew charges a saved card.",
                               param="payment_method_id")
    elif payment_method_id is not None:
        raise Unprocessable("invalid_parameter", "payment_method_id goes with enabled: true.",
                            param="payment_method_id")
    return subscriptions.set_auto_renew(session, sub, card.id if card else None, now)


def last_valid_day(pm: PaymentMethod) -> datetime:
    """A card is good through the last day of its expiry month (UTC midnight that ends it)."""
    year, month = (pm.exp_year + 1, 1) if pm.exp_month == 12 else (pm.exp_year, pm.exp_month + 1)
    return datetime(year, month, 1, tzinfo=UTC) - timedelta(microseconds=1)


def expires_before(pm: PaymentMethod, when: datetime) -> bool:
    return last_valid_day(pm) < when


def notice_expiring(session: Work, now: datetime, limit: int) -> int:
    """Tell customers whose saved card's last valid day is within EXPIRY_NOTICE_DAYS (once per card)."""
    horizon = now + timedelta(days=EXPIRY_NOTICE_DAYS)
    # A card whose last month ends before the horizon: its month is before the horizon's month.
    due = repository.expiring_methods(session, horizon.year * 12 + horizon.month - 1, limit)
    for pm in due:
        pm.expiry_noticed_at = now
        events.emit(session, "payment_method.expiring", pm.account_id,
                    {"payment_method_id": pm.id, "brand": pm.brand, "last4": pm.last4, "exp_month": pm.exp_month,
                     "exp_year": pm.exp_year, "expires_at": last_valid_day(pm).isoformat()}, now)
    return len(due)
