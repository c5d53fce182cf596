"""Promotions (DESIGN rule 8): codes created by operators, redeemed on an account, shown on the
subscription, discounting plan lines of periods that start before the promotion's end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.events import service as events
from langganan.kit.errors import Conflict, NotFoundCode, Unprocessable
from langganan.kit.ids import new_id
from langganan.promotions import repository
from langganan.promotions.models import Promotion, PromotionRedemption, RedemptionEndReason, RedemptionStatus
from langganan.promotions.rules import CODE_RE, Terms, normalise_code, redemption_end
from langganan.subscriptions.models import Subscription, SubscriptionStatus


@dataclass
class NewPromotion:
    code: str
    plans: list[str]
    percent_off: int | None = None
    amount_off: int | None = None
    ends_at: datetime | None = None
    duration_months: int | None = None
    max_redemptions: int | None = None


def create(session: Session, data: NewPromotion, now: datetime) -> Promotion:
    code = normalise_code(data.code)
    if not CODE_RE.match(code):
        raise Unprocessable("invalid_code", "A code is 3-40 letters, digits, '-' or '_'.", param="code")
    if (data.percent_off is None) == (data.amount_off is None):
        raise Unprocessable("invalid_discount", "Give exactly one of percent_off or amount_off.", param="percent_off")
    if (data.ends_at is None) == (data.duration_months is None):
        raise Unprocessable("invalid_duration", "Give exactly one of ends_at or duration_months.", param="ends_at")
    if data.ends_at is not None:
        if data.ends_at.tzinfo is None:
            raise Unprocessable("invalid_parameter", "ends_at needs a UTC offset (RFC 3339).", param="ends_at")
        if data.ends_at <= now:
            raise Unprocessable("invalid_duration", "ends_at must be in the future.", param="ends_at")
    catalog = catalog_service.current(session)
    plans = list(dict.fromkeys(data.plans))
    unknown = [p for p in plans if p not in catalog.plans or catalog.plans[p].is_free]
    if not plans or unknown:
        raise Unprocessable("invalid_plans", "plans must name paid plans of the catalog"
                            + (f"; not {', '.join(unknown)}." if unknown else "."), param="plans")
    promo = Promotion(id=new_id("promo"), code=code, percent_off=data.percent_off, amount_off=data.amount_off,
                      currency=catalog.currency, plans=plans, ends_at=data.ends_at,
                      duration_months=data.duration_months, max_redemptions=data.max_redemptions, redemptions=0,
                      created_at=now)
    if repository.by_code(session, code) is not None:
        raise Conflict("promotion_code_taken", f"A promotion with code {code} exists.", param="code")
    try:
        with session.begin_nested():
            session.add(promo)
    except IntegrityError as exc:  # a concurrent create of the same code
        raise Conflict("promotion_code_taken", f"A promotion with code {code} exists.", param="code") from exc
    events.emit(session, "promotion.created", None, {"promotion_id": promo.id, "code": code}, now)
    return promo


def redeem(session: Session, account: Account, sub: Subscription, code: str, now: datetime) -> PromotionRedemption:
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
    events.emit(session, "promotion.redeemed", account.id, {**_data(promo, redemption), "subscription_id": sub.id},
                now)
    return redemption


def _data(promo: Promotion, redemption: PromotionRedemption) -> dict[str, Any]:
    return {"promotion_id": promo.id, "code": promo.code, "percent_off": promo.percent_off,
            "amount_off": promo.amount_off, "ends_at": redemption.ends_at.isoformat(), "redemption_id": redemption.id}


def terms_for(session: Session, sub: Subscription) -> Terms | None:
    if sub.promotion_redemption_id is None:
        return None
    redemption = session.get(PromotionRedemption, sub.promotion_redemption_id)
    assert redemption is not None
    promo = session.get(Promotion, redemption.promotion_id)
    assert promo is not None
    return Terms(code=promo.code, percent_off=promo.percent_off, amount_off=promo.amount_off, currency=promo.currency,
                 plans=tuple(promo.plans), ends_at=redemption.ends_at)


def eligible_plans(session: Session, sub: Subscription) -> tuple[str, ...]:
    terms = terms_for(session, sub)
    return terms.plans if terms is not None else ()


def end(session: Session, sub: Subscription, now: datetime, reason: RedemptionEndReason) -> None:
    """The promotion stops applying: its end date passed, an upgrade, or a plan it does not cover."""
    if sub.promotion_redemption_id is None:
        return
    redemption = session.get(PromotionRedemption, sub.promotion_redemption_id, with_for_update=True)
    assert redemption is not None
    promo = session.get(Promotion, redemption.promotion_id)
    assert promo is not None
    redemption.status, redemption.end_reason, redemption.ended_at = RedemptionStatus.ENDED, reason, now
    sub.promotion_redemption_id = sub.promotion_ends_at = None
    sub.updated_at = max(sub.updated_at, now)
    events.emit(session, "promotion.ended", sub.account_id,
                {**_data(promo, redemption), "subscription_id": sub.id, "reason": reason}, now)


def view(session: Session, sub: Subscription) -> dict[str, Any] | None:
    """The subscription's `promotion`: {code, percent_off|amount_off, ends_at}."""
    terms = terms_for(session, sub)
    if terms is None:
        return None
    out: dict[str, Any] = {"code": terms.code, "ends_at": terms.ends_at, "plans": list(terms.plans),
                           "description": terms.label}
    if terms.percent_off is not None:
        out["percent_off"] = terms.percent_off
    else:
        out["amount_off"] = terms.amount_off
    return out
