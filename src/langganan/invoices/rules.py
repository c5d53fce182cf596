"""Invoice rules as pure functions over plain values: lines before they are issued, the totals with
exclusive tax (PPN on a tax base, invoices/tax.py), and the number's month and format (DESIGN rule 12)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from langganan.invoices.models import InvoiceType
from langganan.invoices.tax import PLAIN, BaseFraction, compute

# Which tax rate (per product type, DESIGN: Invoices) an invoice type is charged at.
TAX_KIND: dict[str, str] = {InvoiceType.SUBSCRIPTION: "subscription", InvoiceType.RENEWAL: "subscription",
            InvoiceType.PLAN_CHANGE: "subscription", InvoiceType.ADD_ON: "add_on", InvoiceType.TOP_UP: "top_up"}


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None


@dataclass(frozen=True)
class Totals:
    subtotal: int  # every line but the discounts (proration credits included)
    discount: int  # the discount lines, as a positive amount
    tax_base: int  # DPP: the part of subtotal - discount (never below 0) the rate applies to
    tax: int
    total: int  # what the buyer pays: subtotal - discount + tax


def tax_rate_bps(rates: Mapping[str, int], invoice_type: str) -> int:
    """The configured rate (basis points) for the product type of `invoice_type`; 0 when none is set."""
    return rates.get(TAX_KIND.get(invoice_type, "subscription"), 0)


def tax_base_fraction(fractions: Mapping[str, BaseFraction], invoice_type: str) -> BaseFraction:
    """The configured tax-base fraction (DPP) for the product type of `invoice_type`; 1/1 when none is set."""
    return fractions.get(TAX_KIND.get(invoice_type, "subscription"), PLAIN)


def totals(lines: Sequence[Line], rate_bps: int, fraction: BaseFraction = PLAIN) -> Totals:
    """Tax is exclusive: the rate applies to a tax base (DPP), `fraction` of what is charged after
    discounts (never below 0), and is added on top; DPP and PPN are rounded down to the currency unit once
    per invoice (invoices/tax.py)."""
    discount = -sum(line.amount for line in lines if line.kind == "discount")
    subtotal = sum(line.amount for line in lines if line.kind != "discount")
    tax = compute(subtotal - discount, rate_bps, fraction)
    return Totals(subtotal=subtotal, discount=discount, tax_base=tax.base, tax=tax.tax, total=tax.total)


def legacy_tax_base(subtotal: int, discount: int) -> int:
    """The tax base of an invoice issued before DPP was stored: the whole price after discounts."""
    return max(0, subtotal - discount)


def month_key(issued_at: datetime, seller_tz: str) -> str:
    """The numbering month of an invoice: its calendar month in the seller's time zone, 'YYYY/MM'."""
    local = issued_at.astimezone(ZoneInfo(seller_tz))
    return f"{local.year:04d}/{local.month:02d}"


def format_number(month_key: str, value: int) -> str:
    """INV/YYYY/MM/NNNNN: at least five digits, more once a month passes 99.999 invoices."""
    return f"INV/{month_key}/{value:05d}"


def content_digest(content: Mapping[str, Any]) -> str:
    """A seal of an issued invoice's content (rule 12: issued invoices never change): SHA-256 of its
    canonical JSON, times as UTC instants. `langganan verify` recomputes it."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        raise TypeError(f"{type(value).__name__} is not part of an invoice's content")

    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()
