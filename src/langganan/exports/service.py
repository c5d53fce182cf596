"""CSV exports of a date range: invoices, payments, credit notes, ledger entries, usage, the audit log.

A range is whole days in the seller's time zone (`since` and `until` both included); either end may be open.
The export reads in one transaction (one snapshot of the books) and yields text as it goes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from langganan.exports import csv_out, tables
from langganan.exports.tables import ExportKind
from langganan.kit.db import Database
from langganan.kit.errors import Unprocessable


def day_range(since: str | None, until: str | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """[start of `since`, start of the day after `until`) in `zone`; a clear 422 for a bad date or order."""
    tz = ZoneInfo(zone)

    def day(value: str | None, name: str) -> date | None:
        if value is None or value == "":
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Unprocessable("invalid_date", f"{name} must be a date written YYYY-MM-DD.", param=name) from None

    first, last = day(since, "since"), day(until, "until")
    if first is not None and last is not None and last < first:
        raise Unprocessable("invalid_date_range", "until must be on or after since.", param="until")
    start = datetime.combine(first, time(), tz) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), tz) if last else None
    return start, end


def stream(db: Database, kind: ExportKind, since: datetime | None, until: datetime | None) -> Iterator[str]:
    """The export as CSV text, chunk by chunk, read in one transaction."""
    with db.transaction() as session:
        yield from csv_out.chunks(tables.columns(kind), tables.rows(session, kind, since, until))


def filename(kind: ExportKind, since: str | None, until: str | None) -> str:
    return f"{kind.value}_{since or 'start'}_{until or 'now'}.csv"
