"""Period math (DESIGN rule 1): half-open [start, end), anchor day kept, clamped to month end.

Pure functions over aware datetimes; the time zone is the account's.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

INTERVAL_MONTHS = {"month": 1, "year": 12}


def add_months_anchored(start: datetime, months: int, anchor_day: int, tz: str,
                        at_time: time | None = None) -> datetime:
    """The instant `months` after `start` on `anchor_day` (clamped), at the local wall time `at_time`
    (the schedule's own time of day) or else start's. A wall time a DST gap skips is read with the
    offset before the gap (02:30 becomes 03:30); with `at_time` the next one returns to 02:30, so
    periods chained end to end do not drift."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    total = local.year * 12 + (local.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    moved = local.replace(year=year, month=month, day=day, tzinfo=zone)
    if at_time is not None:
        moved = moved.replace(hour=at_time.hour, minute=at_time.minute, second=at_time.second,
                              microsecond=at_time.microsecond, fold=at_time.fold)
    return moved.astimezone(UTC)


def wall_time_of(instant: datetime, tz: str) -> time:
    """The local time of day of `instant` (what a schedule anchored there keeps)."""
    return instant.astimezone(ZoneInfo(tz)).time()


def anchor_day_of(instant: datetime, tz: str) -> int:
    return instant.astimezone(ZoneInfo(tz)).day


def period_end(start: datetime, interval: str, anchor_day: int, tz: str, at_time: time | None = None) -> datetime:
    return add_months_anchored(start, INTERVAL_MONTHS[interval], anchor_day, tz, at_time)


def nth_period(anchor: datetime, n: int, interval: str, tz: str) -> tuple[datetime, datetime]:
    """The n-th period (0-based) of a schedule anchored at `anchor`."""
    day = anchor_day_of(anchor, tz)
    months = INTERVAL_MONTHS[interval]
    start = add_months_anchored(anchor, n * months, day, tz) if n else anchor
    return start, add_months_anchored(anchor, (n + 1) * months, day, tz)


def local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def days_in_period(start: datetime, end: datetime, tz: str) -> int:
    return (local_date(end, tz) - local_date(start, tz)).days


def remaining_days(now: datetime, start: datetime, end: datetime, tz: str) -> int:
    """Whole days left in [start, end) counting today (DESIGN rule 2), in the account's zone."""
    total = days_in_period(start, end, tz)
    left = (local_date(end, tz) - local_date(max(now, start), tz)).days
    return max(0, min(total, left))
