"""Form and query fields of the pages: whole numbers are ASCII digits only and of bounded length, so
"²" (which str.isdigit() accepts) or a 5000-digit value is refused instead of crashing int()."""

from __future__ import annotations

from langganan.web.errors import PageError


def whole_number(value: str, max_digits: int) -> int | None:
    """The number written in `value` (ASCII digits 0-9, at most `max_digits` of them), else None."""
    if not value or len(value) > max_digits or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def require_whole_number(value: str, max_digits: int, key: str = "error.bad_request") -> int:
    """Like whole_number, but anything else stops the page with 422 and the catalog message `key`."""
    number = whole_number(value, max_digits)
    if number is None:
        raise PageError(422, key)
    return number
