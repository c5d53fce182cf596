"""The languages langganan speaks (pages, messages, account locales) and dates written in them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

LOCALES = ("en", "id")  # in the order the pages' language switch lists them
BABEL_LOCALE = {"id": "id_ID", "en": "en_GB"}


def format_when(value: datetime, tz: str, locale: str, pattern: str) -> str:
    """`value` in the time zone `tz`, written with the Babel (CLDR) `pattern` in `locale`."""
    return str(format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=BABEL_LOCALE[locale]))
