"""The languages langganan speaks (pages, messages, account locales) and dates written in them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

LOCALES = ("en", "id")  # in the order the pages' language switch lists them
BABEL_LOCALE = {"id": "id_ID", "en": "en_GB"}


def format_when(value: datetime, tz: str, locale: str, pattern: str) -> str:
    """`value` in the time zone `tz`, written with the Babel (CLDR) `pattern` in `locale`."""
    return str(format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=BABEL_LOCALE[locale]))


def format_number(value: int, locale: str) -> str:
    """A whole number grouped as `locale` writes it (Babel/CLDR): id 1.234.567, en 1,234,567."""
    return str(format_decimal(value, locale=BABEL_LOCALE.get(locale, BABEL_LOCALE["en"])))
