"""Form and query fields of the pages: whole numbers are ASCII digits only and of bounded length, so
"²" (which str.isdigit() accepts) or a 5000-digit value is refused instead of crashing int()."""

from __future__ import annotations

from langganan.web.errors import PageError


def whole_number(value: str, max_digits: int) -> int | None:
    """The number written in `value` (ASCII digits 0-9, at most `max_digits` of them), else None."""
    if not value or len(value) > max_digits or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def rupiah(value: str, max_digits: int) -> int | None:
    """An amount of whole rupiah as people type it in either language: "50000", "50.000", "50,000", "50 000",
    with or without "Rp" in front; groups of three after the first, one kind of separator. Anything else ("1.5",
    "5,0000", "1.000,00", a sign) is None, never a guess."""
    text = value.strip()
    if text[:2].lower() == "rp":
        text = text[2:].lstrip()
    for separator in (".", ",", " ", "\u00a0"):
        if separator in text:
            head, *groups = text.split(separator)
            if not 1 <= len(head) <= 3 or any(len(group) != 3 for group in groups):
                return None
            text = "".join([head, *groups])
            break
    return whole_number(text, max_digits)


def require_whole_number(value: str, max_digits: int, key: str = "error.bad_request") -> int:
    """Like whole_number, but anything else stops the page with 422 and the catalog message `key`."""
    number = whole_number(value, max_digits)
    if number is None:
        raise PageError(422, key)
    return number
