from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Billing information (copied onto each invoice at issue).
    company_name: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    billing_email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(120))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    # Current counts reported by the SaaS (entitlements).
    users_count: Mapped[int] = mapped_column(Integer, default=0)
    contacts_count: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def billing_complete(self) -> bool:
        return all([self.company_name, self.contact_name, self.billing_email, self.phone,
                    self.address, self.city, self.postal_code, self.country])


    def buyer_snapshot(self) -> dict[str, str | None]:
        """The buyer as copied onto an invoice at issue."""
        return {"account_id": self.id, "name": self.company_name or self.name,
                "contact_name": self.contact_name, "email": self.billing_email or self.email,
                "phone": self.phone, "address": self.address, "city": self.city,
                "postal_code": self.postal_code, "country": self.country, "tax_id": self.tax_id}


class TrialClaim(Base):
    """One trial per account and per account email (DESIGN: Subscriptions)."""

    __tablename__ = "trial_claims"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime]
