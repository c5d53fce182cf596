"""Accounts: one customer of the SaaS (a workspace), its billing information and usage counts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from langganan.accounts import repository
from langganan.accounts.models import TAX_IDENTITY, Account, BuyerType
from langganan.catalog import service as catalog_service
from langganan.events import service as events
from langganan.kit.errors import Conflict, Unprocessable
from langganan.kit.fields import is_zone
from langganan.kit.ids import new_id
from langganan.kit.locales import LOCALES
from langganan.kit.taxids import nik_digits, nitku_digits, npwp_digits
from langganan.kit.work import Work

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class NewAccount:
    name: str
    email: str
    external_id: str | None = None
    currency: str | None = None
    locale: str = "id"
    timezone: str = "Asia/Jakarta"
    start_trial: bool = False


EMAIL_LENGTH = 320  # the email columns


def normalise_email(email: str) -> str:
    return email.strip().lower()


def valid_email(email: str) -> bool:
    """An address of the form a@b.c that still fits its column once normalised ("İ".lower() is two
    characters long)."""
    return bool(EMAIL_RE.match(email.strip())) and len(normalise_email(email)) <= EMAIL_LENGTH


def validate_timezone(tz: str, param: str = "timezone") -> None:
    if not is_zone(tz):
        raise Unprocessable("invalid_timezone", f"{tz!r} is not a known IANA time zone.", param=param)


def new_account(session: Work, data: NewAccount, now: datetime) -> Account:
    """The account itself, checked; `onboarding.service.create` opens it with its wallets and first
    subscription."""
    catalog = catalog_service.current(session)
    currency = (data.currency or catalog.currency).upper()
    if currency != catalog.currency:
        raise Unprocessable("unsupported_currency",
                            f"The catalog prices plans in {catalog.currency}, not {currency}.", param="currency")
    if not valid_email(data.email):
        raise Unprocessable("invalid_email", "The email address is not valid.", param="email")
    if data.locale not in LOCALES:
        raise Unprocessable("invalid_locale", "Locale must be 'id' or 'en'.", param="locale")
    validate_timezone(data.timezone)
    if not data.name.strip():
        raise Unprocessable("invalid_name", "The account needs a name.", param="name")
    if data.external_id and repository.by_external_id(session, data.external_id):
        raise Conflict("external_id_taken", f"An account with external_id {data.external_id!r} exists.",
                       param="external_id")
    account = Account(id=new_id("acc"), external_id=data.external_id, name=data.name.strip(),
                      email=normalise_email(data.email), currency=currency, locale=data.locale,
                      timezone=data.timezone, created_at=now)
    session.add(account)
    session.flush()
    events.emit(session, "account.created", account.id, {"account_id": account.id}, now)
    return account


BILLING_FIELDS = ("company_name", "contact_name", "email", "phone", "address", "city", "postal_code", "country")
PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{6,20}$")


def update_billing_info(session: Work, account: Account, info: dict[str, str | None], now: datetime) -> Account:
    for name in BILLING_FIELDS:
        value = (info.get(name) or "").strip()
        if not value:
            raise Unprocessable("missing_field", f"Billing information needs {name.replace('_', ' ')}.", param=name)
    if not valid_email(str(info["email"])):
        raise Unprocessable("invalid_email", "The billing email address is not valid.", param="email")
    if not PHONE_RE.match(str(info["phone"]).strip()):
        raise Unprocessable("invalid_phone", "The phone number is not valid.", param="phone")
    country = str(info["country"]).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise Unprocessable("invalid_country", "Country must be a two-letter ISO code such as ID.", param="country")
    identity = tax_identity(info) if any(key in info for key in TAX_IDENTITY) else None
    account.company_name = str(info["company_name"]).strip()
    account.contact_name = str(info["contact_name"]).strip()
    account.billing_email = normalise_email(str(info["email"]))
    account.phone = str(info["phone"]).strip()
    account.address = str(info["address"]).strip()
    account.city = str(info["city"]).strip()
    account.postal_code = str(info["postal_code"]).strip()
    account.country = country
    account.tax_id = (info.get("tax_id") or "").strip() or None
    if identity is not None:  # (the portal's form does not carry it: then it is kept)
        for key, given in identity.items():
            setattr(account, key, given)
    events.emit(session, "account.billing_info_updated", account.id, {"account_id": account.id}, now)
    return account


PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")


def tax_identity(info: Mapping[str, object]) -> dict[str, str | None]:
    """The buyer's tax identity from billing information, checked and normalised (kit/taxids.py): buyer
    type, NPWP as 16 digits, NIK, NITKU (default none: the NPWP's head office is assumed where one is
    needed), passport. A value that is not such a number is a 422 naming the field."""
    def text(key: str) -> str:
        return str(info.get(key) or "").strip()

    buyer_type = text("buyer_type") or None
    if buyer_type is not None and buyer_type not in tuple(BuyerType):
        raise Unprocessable("invalid_buyer_type", "Buyer type must be business, individual or foreign.",
                            param="buyer_type")
    npwp = npwp_digits(text("npwp")) if text("npwp") else None
    if text("npwp") and npwp is None:
        raise Unprocessable("invalid_npwp", "An NPWP has 15 or 16 digits (dots and dashes may separate them), "
                            "e.g. 01.234.567.8-901.000 or 0012345678901000.", param="npwp")
    nik = nik_digits(text("nik")) if text("nik") else None
    if text("nik") and nik is None:
        raise Unprocessable("invalid_nik", "A NIK has 16 digits: region, date of birth and a serial number.",
                            param="nik")
    nitku = nitku_digits(text("nitku")) if text("nitku") else None
    if text("nitku") and nitku is None:
        raise Unprocessable("invalid_nitku", "A NITKU has 22 digits: the 16-digit NPWP and 6 digits for the place "
                            "of business (000000 for the head office).", param="nitku")
    if nitku is not None and (npwp is None or not nitku.startswith(npwp)):
        raise Unprocessable("invalid_nitku", "The NITKU must begin with the buyer's NPWP (16 digits); give the "
                            "NPWP too.", param="nitku")
    passport = text("passport").upper().replace(" ", "") or None
    if passport is not None and not PASSPORT_RE.match(passport):
        raise Unprocessable("invalid_passport", "A passport number has 5 to 20 letters and digits.",
                            param="passport")
    if buyer_type == BuyerType.BUSINESS and npwp is None:
        raise Unprocessable("npwp_required", "A business buyer needs its NPWP.", param="npwp")
    if buyer_type == BuyerType.FOREIGN and passport is None:
        raise Unprocessable("passport_required", "A foreign buyer needs a passport number.", param="passport")
    return {"buyer_type": buyer_type, "npwp": npwp, "nik": nik, "nitku": nitku, "passport": passport}


def require_billing_info(account: Account) -> None:
    """Every paid purchase (plan change, renewal, top-up, add-on) needs complete billing information."""
    if not account.billing_complete:
        raise Conflict("billing_info_required",
                       "Complete the billing information before making a paid purchase.", param=None)


def update_usage_counts(session: Work, account: Account, users: int | None, contacts: int | None) -> Account:
    for name, value in (("users", users), ("contacts", contacts)):
        if value is not None and value < 0:
            raise Unprocessable("invalid_count", f"{name} must be zero or more.", param=name)
    if users is not None:
        account.users_count = users
    if contacts is not None:
        account.contacts_count = contacts
    return account
