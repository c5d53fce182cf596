"""A month's tax invoices as Coretax import files (tax/coretax.py), in parts of at most 1.000 invoices.

The month is a calendar month in the seller's zone (LANGGANAN_SELLER_TIMEZONE); an invoice belongs to the
month it was paid in (a prepaid sale's PPN falls due when the payment is received). Its invoices are ordered
by the time they were paid, and part n holds the n-th thousand of them; a month without any has one, empty,
part.

Credit notes (invoices of type credit_note, which refer to the invoice they correct) are returns. Coretax
does not take returns in a TaxInvoiceBulk: a return is filed by the buyer, or the seller cancels or replaces
its tax invoice (tax/returns.py). So they are left out of these files and counted (`Export.returns_left_out`,
shown by the API as a header), and listed with everything either step needs in the month's returns register
(tax/returns.py; `repository.RETURN_TYPES` names the types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from langganan.config import Settings
from langganan.kit.errors import NotFoundCode, Unprocessable
from langganan.kit.work import Work
from langganan.tax import coretax, repository

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Export:
    month: str  # YYYY-MM
    part: int  # 1-based
    parts: int  # at least 1
    invoices: int  # in the whole month
    returns_left_out: int  # credit notes of the month, not in these files
    xml: bytes


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a YYYY-MM month in `zone`, as UTC instants."""
    match = MONTH_RE.match(month)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1 or int(match[1]) > 9998:
        raise Unprocessable("invalid_month", "month must be a calendar month written YYYY-MM, e.g. 2026-01.",
                            param="month")
    year, number = int(match[1]), int(match[2])
    tz = ZoneInfo(zone)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def parts_of(count: int) -> int:
    """How many files `count` invoices take: at least one."""
    return max(1, -(-count // coretax.MAX_INVOICES_PER_FILE))


def document_part(session: Work, settings: Settings, month: str, part: int = 1) -> Export:
    """Part `part` of the month's export (404 part_not_found beyond the last)."""
    start, end = month_bounds(month, settings.seller_timezone)
    count = repository.count_taxable(session, start, end)
    parts = parts_of(count)
    if not 1 <= part <= parts:
        raise NotFoundCode("part_not_found", f"{month} has {parts} part{'s' if parts > 1 else ''} "
                           f"({count} tax invoices, at most {coretax.MAX_INVOICES_PER_FILE} a file).")
    size = coretax.MAX_INVOICES_PER_FILE
    invoices = repository.taxable(session, start, end, offset=(part - 1) * size, limit=size)
    seller_idtku = settings.seller["nitku"]
    xml = coretax.document(settings.seller_npwp16, [
        coretax.tax_invoice(inv, seller_idtku=seller_idtku, zone=settings.seller_timezone) for inv in invoices])
    return Export(month=month, part=part, parts=parts, invoices=count,
                  returns_left_out=repository.count_returns(session, start, end), xml=xml)
