"""Legacy postpaid import (DESIGN: Migration): reading and checking one subscriber's row, and the
prepaid period it moves to. Pure: no DB, `now` passed in.

A row names the legacy account key (kept as the account's external_id), the plan and interval,
the enrollment date and the last unpaid postpaid month. The prepaid period is the running billing
cycle of the enrollment anniversary: it ends on the next anniversary after the import (the day of
month of the enrollment for monthly plans, its month and day for yearly ones, at midnight in the
account's time zone, anchor kept and clamped to month end: DESIGN rule 1).
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from langganan.kit.fields import is_zone
from langganan.kit.periods import INTERVAL_MONTHS, add_months_anchored, nth_period

REQUIRED = ("account_key", "name", "email", "plan", "enrolled_on", "last_unpaid_month")
OPTIONAL = ("interval", "locale", "timezone")
COLUMNS = REQUIRED + OPTIONAL
DEFAULT_LOCALE, DEFAULT_TIMEZONE = "id", "Asia/Jakarta"
MAX_ROWS = 10_000
MAX_LENGTH = {"account_key": 200, "name": 200, "email": 320, "timezone": 64}  # the columns they are stored in
MIN_YEAR = 1900  # an older enrollment or unpaid month is a typo (and year 1 overflows in a zone east of UTC)


class Invalid(ValueError):
    """An error code, a sentence for a person, and the column at fault."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


class RowInvalid(Invalid):
    """A row that cannot be imported; the other rows go on."""


class FileInvalid(Invalid):
    """The file as a whole cannot be read (no header, unknown or missing columns, too many rows)."""


@dataclass(frozen=True)
class LegacyRow:
    """One legacy subscriber, normalised: equal rows are the same import."""

    account_key: str
    name: str
    email: str
    plan: str
    interval: str
    enrolled_on: date
    last_unpaid_month: str  # YYYY-MM
    locale: str
    timezone: str

    def as_dict(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    @property
    def anchor_day(self) -> int:
        return self.enrolled_on.day

    @property
    def unpaid_month(self) -> tuple[int, int]:
        year, month = self.last_unpaid_month.split("-")
        return int(year), int(month)


def read_csv(text: str) -> list[tuple[int, dict[str, str | None]]]:
    """The rows of a CSV file with a header, each with the file line it starts on (the header is
    line 1). Blank lines are skipped; column names are matched without case or surrounding spaces."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise FileInvalid("empty_file", "The file is empty; it needs a header line and one row per account.") from None
    except csv.Error as exc:
        raise FileInvalid("invalid_csv", f"Line 1 is not valid CSV: {exc}.") from exc
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise FileInvalid("unknown_column", f"Unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}.",
                          param=unknown[0])
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise FileInvalid("missing_column", f"The header has no {missing[0]!r} column; required columns are "
                          f"{', '.join(REQUIRED)}.", param=missing[0])
    if len(set(names)) != len(names):
        raise FileInvalid("duplicate_column", "A column appears twice in the header.")
    rows: list[tuple[int, dict[str, str | None]]] = []
    line = reader.line_num
    try:
        for values in reader:
            start, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                rows.append((start, {"__error__": f"it has {len(values)} fields but the header has {len(names)}"}))
                continue
            rows.append((start, {n: (values[i] if i < len(values) else None) for i, n in enumerate(names)}))
            if len(rows) > MAX_ROWS:
                raise FileInvalid("too_many_rows", f"A file holds at most {MAX_ROWS} rows; split it.")
    except csv.Error as exc:
        raise FileInvalid("invalid_csv", f"Line {reader.line_num} is not valid CSV: {exc}.") from exc
    return rows


def _text(raw: Mapping[str, str | None], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def parse_row(raw: Mapping[str, str | None]) -> LegacyRow:
    """Check a row's fields and formats (not yet against the catalog or the clock)."""
    if "__error__" in raw:
        raise RowInvalid("invalid_row", f"The row cannot be read: {raw['__error__']}.")
    for name in REQUIRED:
        if not _text(raw, name):
            raise RowInvalid("missing_field", f"The row has no {name.replace('_', ' ')}.", param=name)
    for name in COLUMNS:
        value = _text(raw, name)
        if len(value) > MAX_LENGTH.get(name, 40):
            raise RowInvalid("field_too_long", f"The {name.replace('_', ' ')} is longer than "
                             f"{MAX_LENGTH.get(name, 40)} characters.", param=name)
        if "\x00" in value:
            raise RowInvalid("invalid_characters", f"The {name.replace('_', ' ')} contains a NUL character.",
                             param=name)
    interval = _text(raw, "interval").lower() or "month"
    aliases = {"monthly": "month", "yearly": "year", "annual": "year"}
    interval = aliases.get(interval, interval)
    if interval not in INTERVAL_MONTHS:
        raise RowInvalid("invalid_interval", f"Interval {_text(raw, 'interval')!r} is not 'month' or 'year'.",
                         param="interval")
    try:
        enrolled_on = date.fromisoformat(_text(raw, "enrolled_on"))
    except ValueError:
        raise RowInvalid("invalid_date", f"Enrollment date {_text(raw, 'enrolled_on')!r} is not a date like "
                         "2024-03-31.", param="enrolled_on") from None
    if enrolled_on.year < MIN_YEAR:
        raise RowInvalid("invalid_date", f"Enrollment date {enrolled_on.isoformat()} is before {MIN_YEAR}.",
                         param="enrolled_on")
    month = _text(raw, "last_unpaid_month")
    try:
        parsed = datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise RowInvalid("invalid_month", f"Last unpaid month {month!r} is not a month like 2026-01.",
                         param="last_unpaid_month") from None
    if parsed.year < MIN_YEAR:
        raise RowInvalid("invalid_month", f"Last unpaid month {month} is before {MIN_YEAR}.",
                         param="last_unpaid_month")
    locale = _text(raw, "locale").lower() or DEFAULT_LOCALE
    timezone = _text(raw, "timezone") or DEFAULT_TIMEZONE
    if not is_zone(timezone):
        raise RowInvalid("invalid_timezone", f"{timezone!r} is not a known IANA time zone.", param="timezone")
    return LegacyRow(account_key=_text(raw, "account_key"), name=_text(raw, "name"),
                     email=_text(raw, "email").lower(), plan=_text(raw, "plan").lower(), interval=interval,
                     enrolled_on=enrolled_on, last_unpaid_month=f"{parsed.year:04d}-{parsed.month:02d}",
                     locale=locale, timezone=timezone)


def check_dates(row: LegacyRow, now: datetime) -> None:
    """The enrollment and the unpaid month must lie in the past of the import (account's zone), and
    the unpaid month not before the enrollment's month."""
    today = now.astimezone(ZoneInfo(row.timezone)).date()
    if row.enrolled_on > today:
        raise RowInvalid("enrolled_in_future", f"Enrollment date {row.enrolled_on.isoformat()} is after the "
                         f"import date {today.isoformat()}.", param="enrolled_on")
    year, month = row.unpaid_month
    if (year, month) > (today.year, today.month):
        raise RowInvalid("unpaid_month_in_future", f"Last unpaid month {row.last_unpaid_month} is after the "
                         f"import month {today.year:04d}-{today.month:02d}.", param="last_unpaid_month")
    if (year, month) < (row.enrolled_on.year, row.enrolled_on.month):
        raise RowInvalid("unpaid_month_before_enrollment", f"Last unpaid month {row.last_unpaid_month} is before "
                         f"the enrollment date {row.enrolled_on.isoformat()}.", param="last_unpaid_month")


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def months_between(earlier: datetime, later: datetime, tz: str) -> int:
    a, b = earlier.astimezone(ZoneInfo(tz)), later.astimezone(ZoneInfo(tz))
    return (b.year - a.year) * 12 + b.month - a.month


def anniversary_period(enrolled_on: date, interval: str, tz: str, now: datetime) -> tuple[datetime, datetime]:
    """[the last enrollment anniversary at or before `now`, the next one after it)."""
    anchor = local_midnight(enrolled_on, tz)  # its local day is the anchor day
    n = max(0, months_between(anchor, now, tz) // INTERVAL_MONTHS[interval] - 1)
    while True:
        start, end = nth_period(anchor, n, interval, tz)
        if end > now:
            return start, end
        n += 1


def allotment_start(period_start: datetime, anchor_day: int, tz: str, now: datetime) -> datetime:
    """The start of the monthly allotment (rule 5) running at `now`: the last anchor day at or before it."""
    n = months_between(period_start, now, tz)
    while n > 0:
        candidate = add_months_anchored(period_start, n, anchor_day, tz)
        if candidate <= now:
            return candidate
        n -= 1
    return period_start


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    first = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return local_midnight(first, tz), local_midnight(after, tz)


def month_label(year: int, month: int) -> str:
    return f"{calendar.month_name[month]} {year}"


def changed_fields(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    return [name for name in after if before.get(name) != after[name]]
