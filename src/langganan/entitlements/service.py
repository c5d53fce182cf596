"""Entitlements: limits = plan limit + active add-ons; features from the plan (rule 9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langganan.accounts.models import Account
from langganan.kit.errors import Unprocessable
from langganan.kit.work import Work
from langganan.subscriptions import addons
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.service import plan_of


@dataclass
class Limit:
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def limits_for(session: Work, account: Account, sub: Subscription | None = None,
               ) -> tuple[str, dict[str, bool], dict[str, Limit], datetime | None]:
    """The plan's code and features, each limit with its use, and when the broadcast quota resets.
    `sub` is the account's subscription when the caller already holds it."""
    if sub is None:
        sub = subs_repo.for_account(session, account.id)
    plan = plan_of(session, sub)
    extra = addons.extra_limits(session, sub)
    total = {name: value + extra.get(name, 0) for name, value in plan.limits.items()}
    limits = {
        "users": Limit(total["users"], account.users_count),
        "contacts": Limit(total["contacts"], account.contacts_count),
        "broadcasts_per_month": Limit(total["broadcasts_per_month"], sub.broadcasts_used),
    }
    return plan.code, plan.features, limits, sub.allotment_end


def check(session: Work, account: Account, *, feature: str | None, limit: str | None,
          quantity: int) -> dict[str, Any]:
    _plan, features, limits, _resets = limits_for(session, account)
    if feature is not None:
        if feature not in features:
            raise Unprocessable("unknown_feature", f"No feature named {feature!r}.", param="feature")
        if features[feature]:
            return {"allowed": True, "reason": None}
        return {"allowed": False, "reason": "feature_not_in_plan"}
    if limit is None or limit not in limits:
        raise Unprocessable("invalid_parameter", "Give a feature, or a limit (users, contacts, "
                            "broadcasts_per_month) and a quantity.", param="limit")
    if quantity < 1:
        raise Unprocessable("invalid_quantity", "quantity must be at least 1.", param="quantity")
    current = limits[limit]
    if current.used + quantity <= current.limit:
        return {"allowed": True, "reason": None}
    return {"allowed": False, "reason": "limit_reached"}
