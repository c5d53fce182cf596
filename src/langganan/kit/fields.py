"""Types of API input fields, shared by every schema: a request may carry only what both databases
and Python can hold, so a value SQLite would take and PostgreSQL refuse (or that overflows on the way)
is a 422 naming the field instead of a 500.

- `Instant`: an RFC 3339 time with an offset whose UTC instant lies in [EARLIEST, LATEST]. Python
  holds years 1-9999, and an instant is converted to UTC to be stored and to some zone to be read
  back or shown, so a day is kept free at each end ("0001-01-01T00:00:00+14:00" has no UTC instant
  at all; "9999-12-31T23:00:00Z" has none in Jakarta).
- Integer bounds of the columns: `INT32_MAX` (Integer), `INT64_MAX` (BigInteger: money, quantities).
- `Id`: an object id (every id column is String(40)). Other strings carry `max_length` of their column;
  `CURRENCY` is the pattern of a currency code (String(3)).
- `is_zone`: whether a name is an IANA time zone (and not a directory or a data file of the database).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, Field

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
ID_LENGTH = 40
CURRENCY = r"^[A-Za-z]{3}$"  # an ISO 4217 code (String(3) columns); upper-cased where it is used
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def storable(value: datetime) -> datetime:
    """`value` unchanged when its UTC instant is within [EARLIEST, LATEST]; else a ValueError (a 422)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValueError("the time must lie between 0001-01-02 and 9999-12-30 in UTC")
    return value


def in_range(value: datetime) -> bool:
    try:
        storable(value)
    except ValueError:
        return False
    return True


def is_zone(key: str) -> bool:
    """Whether `key` names an IANA time zone. ZoneInfo raises more than ZoneInfoNotFoundError for names
    that are not zones: ValueError for a path or a data file ("zone.tab"), OSError for a directory
    ("Asia") or a name too long for the file system."""
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


Instant = Annotated[AwareDatetime, AfterValidator(storable)]
Id = Annotated[str, Field(max_length=ID_LENGTH)]
