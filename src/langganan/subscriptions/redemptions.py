"""Redeeming a promotion code on the account's subscription (DESIGN rule 8): the redemption counts now."""

from __future__ import annotations

from datetime import datetime

from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.events import service as events
from langganan.kit.errors import Conflict, NotFoundCode
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.promotions import repository
from langganan.promotions import service as promotions
from langganan.promotions.models import PromotionRedemption, RedemptionStatus
from langganan.promotions.rules import normalise_code, redemption_end
from langganan.subscriptions.models import Subscription, SubscriptionStatus


def redeem(session: Work, account: Account, sub: Subscription, code: str, now: datetime) -> PromotionRedemption:
    """Apply a code to the account's subscription; the redemption counts now (rule 8)."""
    promo = repository.by_code(session, normalise_code(code), for_update=True)
    if promo is None:
        raise NotFoundCode("promotion_not_found", f"No promotion with code {code!r}.", param="code")
    if promo.ends_at is not None and promo.ends_at <= now:
        raise Conflict("promotion_expired", f"Promotion {promo.code} ended on {promo.ends_at.date()}.", param="code")
    if repository.redemption_of(session, promo.id, account.id) is not None:
        raise Conflict("promotion_already_redeemed", f"This account already redeemed {promo.code}.", param="code")
    if promo.max_redemptions is not None and promo.redemptions >= promo.max_redemptions:
        raise Conflict("promotion_exhausted", f"Promotion {promo.code} has been fully redeemed.", param="code")
    if sub.promotion_redemption_id is not None:
        raise Conflict("promotion_already_active", "The subscription already has an active promotion.",
                       param="code")
    catalog = catalog_service.get(session, sub.catalog_version_id)
    on_paid_plan = sub.plan_code != catalog.default_plan and sub.status != SubscriptionStatus.TRIALING
    if (on_paid_plan and sub.plan_code not in promo.plans) or account.currency != promo.currency:
        raise Conflict("promotion_not_eligible", f"Promotion {promo.code} applies to "
                       f"{', '.join(promo.plans)} only.", param="code")
    ends_at = redemption_end(promo.ends_at, promo.duration_months, now, account.timezone)
    redemption = PromotionRedemption(id=new_id("red"), promotion_id=promo.id, account_id=account.id,
                                     code=promo.code, ends_at=ends_at, status=RedemptionStatus.ACTIVE, created_at=now)
    session.add(redemption)
    promo.redemptions += 1
    sub.promotion_redemption_id, sub.promotion_ends_at, sub.updated_at = redemption.id, ends_at, now
    session.flush()
    events.emit(session, "promotion.redeemed", account.id,
                {**promotions.event_data(promo, redemption), "subscription_id": sub.id}, now)
    return redemption
