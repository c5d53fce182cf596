from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base


class BuyerType(StrEnum):
    """Who the buyer is for PPN: a business (badan, with an NPWP), an individual (orang pribadi: NPWP or
    NIK) or a foreign buyer (a passport). Government and other VAT collectors (Coretax transaction codes 02
    and 03, where the buyer withholds the PPN) are not handled."""

    BUSINESS = "business"
    INDIVIDUAL = "individual"
    FOREIGN = "foreign"


TAX_IDENTITY = ("buyer_type", "npwp", "nik", "nitku", "passport")


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
    tax_id: Mapped[str | None] = mapped_column(String(40))  # free text, as the customer wrote it
    # Tax identity for Coretax tax invoices (accounts/service.py checks the formats; kit/taxids.py).
    buyer_type: Mapped[str | None] = mapped_column(String(20))  # BuyerType
    npwp: Mapped[str | None] = mapped_column(String(16))  # 16 digits
    nik: Mapped[str | None] = mapped_column(String(16))
    nitku: Mapped[str | None] = mapped_column(String(22))
    passport: Mapped[str | None] = mapped_column(String(40))
    # Current counts reported by the SaaS (entitlements).
    users_count: Mapped[int] = mapped_column(Integer, default=0)
    contacts_count: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def billing_complete(self) -> bool:
        return all([self.company_name, self.contact_name, self.billing_email, self.phone,
                    self.address, self.city, self.postal_code, self.country])


    def buyer_snapshot(self) -> dict[str, str | None]:
        """The buyer as copied onto an invoice at issue (the tax identity only when one is set, so that
        buyers without one are copied as before)."""
        buyer = {"account_id": self.id, "name": self.company_name or self.name,
                 "contact_name": self.contact_name, "email": self.billing_email or self.email,
                 "phone": self.phone, "address": self.address, "city": self.city,
                 "postal_code": self.postal_code, "country": self.country, "tax_id": self.tax_id}
        for key in TAX_IDENTITY:
            if getattr(self, key) is not None:
                buyer[key] = getattr(self, key)
        return buyer


class TrialClaim(Base):
    """One trial per account and per account email (DESIGN: Subscriptions)."""

    __tablename__ = "trial_claims"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime]
