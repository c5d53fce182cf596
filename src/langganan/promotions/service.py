"""Promotions (DESIGN rule 8): codes created by operators, redeemed on an account, shown on the
subscription, discounting plan lines of periods that start before the promotion's end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.catalog import service as catalog_service
from langganan.events import service as events
from langganan.kit.db import added_unless_taken
from langganan.kit.errors import Conflict, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.promotions import repository
from langganan.promotions.models import Promotion, PromotionRedemption, RedemptionEndReason, RedemptionStatus
from langganan.promotions.rules import CODE_RE, Terms, normalise_code


class Redeemed(Protocol):
    """What a promotion is redeemed on (a subscription, which sits above promotions): the columns that
    name its redemption. Redeeming a code is `subscriptions.redemptions.redeem`."""

    id: str
    account_id: str
    promotion_redemption_id: str | None
    promotion_ends_at: datetime | None
    updated_at: datetime


@dataclass
class NewPromotion:
    code: str
    plans: list[str]
    percent_off: int | None = None
    amount_off: int | None = None
    ends_at: datetime | None = None
    duration_months: int | None = None
    max_redemptions: int | None = None


def create(session: Work, data: NewPromotion, now: datetime, *, by: Actor) -> Promotion:
    """A new promotion code (its creation in the audit log, by `by`)."""
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
    if not added_unless_taken(session, promo):  # a concurrent create of the same code
        raise Conflict("promotion_code_taken", f"A promotion with code {code} exists.", param="code")
    events.emit(session, "promotion.created", None, {"promotion_id": promo.id, "code": code}, now)
    audit.record(session, by, "promotion.created", target_type="promotion", target_id=promo.id, now=now,
                 after={"code": code, "percent_off": promo.percent_off, "amount_off": promo.amount_off,
                        "plans": plans, "ends_at": promo.ends_at.isoformat() if promo.ends_at else None,
                        "duration_months": promo.duration_months, "max_redemptions": promo.max_redemptions})
    return promo


def event_data(promo: Promotion, redemption: PromotionRedemption) -> dict[str, Any]:
    return {"promotion_id": promo.id, "code": promo.code, "percent_off": promo.percent_off,
            "amount_off": promo.amount_off, "ends_at": redemption.ends_at.isoformat(), "redemption_id": redemption.id}


def terms_for(session: Work, sub: Redeemed) -> Terms | None:
    if sub.promotion_redemption_id is None:
        return None
    redemption = session.get(PromotionRedemption, sub.promotion_redemption_id)
    assert redemption is not None
    promo = session.get(Promotion, redemption.promotion_id)
    assert promo is not None
    return Terms(code=promo.code, percent_off=promo.percent_off, amount_off=promo.amount_off, currency=promo.currency,
                 plans=tuple(promo.plans), ends_at=redemption.ends_at)


def eligible_plans(session: Work, sub: Redeemed) -> tuple[str, ...]:
    terms = terms_for(session, sub)
    return terms.plans if terms is not None else ()


def end(session: Work, sub: Redeemed, now: datetime, reason: RedemptionEndReason) -> None:
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
                {**event_data(promo, redemption), "subscription_id": sub.id, "reason": reason}, now)


def view(session: Work, sub: Redeemed) -> dict[str, Any] | None:
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
