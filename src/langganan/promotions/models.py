from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


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
    status: Mapped[str] = mapped_column(String(20))  # active | ended
    end_reason: Mapped[str | None] = mapped_column(String(30))  # expired | upgrade | plan_not_eligible
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
