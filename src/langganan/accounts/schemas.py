from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from langganan.accounts.models import Account, BuyerType
from langganan.kit.fields import INT32_MAX


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    external_id: str | None = Field(default=None, max_length=200)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    locale: str = Field(default="id", max_length=5, description="id or en")
    timezone: str = Field(default="Asia/Jakarta", max_length=64, description="IANA zone")
    start_trial: StrictBool = False


class BillingInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_name: str = Field(max_length=200)
    contact_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    phone: str = Field(max_length=40)
    address: str = Field(max_length=500)
    city: str = Field(max_length=120)
    postal_code: str = Field(max_length=20)
    country: str = Field(max_length=2)
    tax_id: str | None = Field(default=None, max_length=40,
                               description="Free text as the customer writes it (kept; see npwp for Coretax)")
    buyer_type: BuyerType | None = Field(
        default=None, description="For PPN: business (needs npwp), individual (npwp or nik), foreign (passport)")
    npwp: str | None = Field(default=None, max_length=40,
                             description="15 or 16 digits (dots and dashes allowed); answered as 16 digits")
    nik: str | None = Field(default=None, max_length=40, description="16-digit NIK of an individual")
    nitku: str | None = Field(default=None, max_length=40,
                              description="22 digits: the 16-digit NPWP and the place of business (000000: head "
                                          "office); default the NPWP's head office")
    passport: str | None = Field(default=None, max_length=40, description="A foreign buyer's passport number")


class UsageCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: StrictInt | None = Field(default=None, ge=0, le=INT32_MAX)
    contacts: StrictInt | None = Field(default=None, ge=0, le=INT32_MAX)


class AccountOut(BaseModel):
    id: str
    external_id: str | None
    name: str
    email: str
    currency: str
    locale: str
    timezone: str
    created_at: datetime
    billing_info: BillingInfo | None
    billing_info_complete: bool
    usage_counts: dict[str, int]


class AccountList(BaseModel):
    data: list[AccountOut]
    has_more: bool


def account_out(a: Account) -> AccountOut:
    info = None
    if a.billing_complete:
        info = BillingInfo(company_name=a.company_name or "", contact_name=a.contact_name or "",
                           email=a.billing_email or "", phone=a.phone or "", address=a.address or "",
                           city=a.city or "", postal_code=a.postal_code or "", country=a.country or "",
                           tax_id=a.tax_id, buyer_type=BuyerType(a.buyer_type) if a.buyer_type else None,
                           npwp=a.npwp, nik=a.nik, nitku=a.nitku, passport=a.passport)
    return AccountOut(id=a.id, external_id=a.external_id, name=a.name, email=a.email, currency=a.currency,
                      locale=a.locale, timezone=a.timezone, created_at=a.created_at, billing_info=info,
                      billing_info_complete=a.billing_complete,
                      usage_counts={"users": a.users_count, "contacts": a.contacts_count})
