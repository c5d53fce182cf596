from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class RedemptionStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class RedemptionEndReason(StrEnum):
    EXPIRED = "expired"
    UPGRADE = "upgrade"
    PLAN_NOT_ELIGIBLE = "plan_not_eligible"


class Promotion(Base):
    """A discount code on plan prices (DESIGN rule 8): percent or fixed, eligible plans, an end."""

    __tablename__ = "promotions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    plans: Mapped[list[Any]]
    ends_at: Mapped[datetime | None]  # a fixed end date, or
    duration_months: Mapped[int | None] = mapped_column(Integer)  # months from each redemption
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    redemptions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]


class PromotionRedemption(Base):
    """A code applied to an account: active until its end date, an upgrade, or an ineligible plan."""

    __tablename__ = "promotion_redemptions"
    __table_args__ = (UniqueConstraint("promotion_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotions.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    ends_at: Mapped[datetime]
    status: Mapped[RedemptionStatus] = mapped_column(text_column(RedemptionStatus, 20))
    end_reason: Mapped[RedemptionEndReason | None] = mapped_column(text_column(RedemptionEndReason, 30))
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
