from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class AddOnStatus(StrEnum):
    ACTIVE = "active"  # renews with the subscription
    STOPPING = "stopping"  # ends at the period end
    ENDED = "ended"


class SubscriptionAddOn(Base):
    """Add-on units on a subscription: active (renews with it), stopping (ends at period end), ended."""

    __tablename__ = "subscription_add_ons"
    __table_args__ = (Index("ix_sub_add_ons_sub", "subscription_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    add_on_code: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[AddOnStatus] = mapped_column(text_column(AddOnStatus, 20))
    ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    unit_price: Mapped[int] = mapped_column(BigInteger, default=0)
