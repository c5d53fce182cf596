"""Money: an integer amount in a currency's minor unit. No float ever touches money."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from babel.numbers import format_currency

from langganan.kit.locales import BABEL_LOCALE, format_number

# Minor-unit exponent per currency, as the catalog defines it (IDR is whole rupiah).
CURRENCY_EXPONENTS: dict[str, int] = {"IDR": 0, "USD": 2, "SGD": 2, "EUR": 2}


def round_half_up(value: Fraction) -> int:
    """Round a rational amount half up (away from zero on .5) to a whole minor unit."""
    if value >= 0:
        return int((value + Fraction(1, 2)).__floor__())
    return -int((-value + Fraction(1, 2)).__floor__())


def prorate(amount: int, numerator: int, denominator: int) -> int:
    """amount × numerator ÷ denominator, rounded half up to the unit (DESIGN rule 2)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return round_half_up(Fraction(amount * numerator, denominator))


def apply_rate_bps(amount: int, rate_bps: int) -> int:
    """amount × rate (in basis points, 1100 = 11%), rounded half up."""
    return round_half_up(Fraction(amount * rate_bps, 10_000))


def parse_percent_to_bps(text: str) -> int:
    """'11' or '11.5' (percent) -> basis points, exactly."""
    bps = Decimal(text.strip()) * 100
    if bps != bps.to_integral_value() or bps < 0:
        raise ValueError(f"tax rate {text!r} must be a non-negative percent with at most 2 decimals")
    return int(bps.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount: int, currency: str, locale: str) -> str:
    """An amount as a reader of `locale` writes it, digits grouped by Babel (CLDR): rupiah as Rp1.234.567 in
    Indonesian and Rp1,234,567 in English, -Rp3.500 below zero; other currencies in their minor unit, with
    Babel's pattern for the language (US$1.234,56 and US$1,234.56). The one money formatter: pages, emails,
    PDFs and the console all write amounts through it."""
    if currency == "IDR":
        sign = "-" if amount < 0 else ""
        return f"{sign}Rp{format_number(abs(amount), locale)}"
    value = Decimal(amount).scaleb(-CURRENCY_EXPONENTS.get(currency, 2))
    return str(format_currency(value, currency, locale=BABEL_LOCALE.get(locale, BABEL_LOCALE["en"])))
