"""Revenue per month (months of the seller's time zone): MRR and its movements, paying accounts, wallet
revenue, top-ups collected, refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from langganan.catalog import service as catalog_service
from langganan.invoices.models import InvoiceType
from langganan.kit.errors import Unprocessable
from langganan.kit.work import Work
from langganan.reports import repository, rules

MAX_MONTHS = 36


@dataclass(frozen=True)
class MonthFigures:
    month: str  # YYYY-MM
    mrr: int  # at the end of the month
    new_mrr: int
    expansion_mrr: int
    contraction_mrr: int
    churned_mrr: int
    paying_accounts: int
    wallet_revenue: int  # paid credit spent on messages
    top_ups_collected: int
    refunds: int


def parse_month(value: str, name: str) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in value.split("-"))
        if len(value) != 7 or not 1 <= month <= 12 or not 2000 <= year <= 2200:
            raise ValueError
    except ValueError:
        raise Unprocessable("invalid_month", f"{name} must be a month written YYYY-MM.", param=name) from None
    return year, month


def months(since: str, until: str) -> list[tuple[int, int]]:
    first, last = parse_month(since, "since"), parse_month(until, "until")
    if last < first:
        raise Unprocessable("invalid_date_range", "until must be the same month as since or later.", param="until")
    out = []
    year, month = first
    while (year, month) <= last:
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if len(out) > MAX_MONTHS:
            raise Unprocessable("range_too_long", f"Ask for at most {MAX_MONTHS} months at a time.", param="until")
    return out


def _start(year: int, month: int, tz: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=tz)


def mrr_at(session: Work, at: datetime) -> dict[str, int]:
    """Each subscription's MRR at `at` (rules.monthly of its plan's catalog price, when counted)."""
    out: dict[str, int] = {}
    for sub_id, plan_code, interval, kind, catalog_id in repository.periods_at(session, at):
        if kind not in rules.COUNTED:
            continue
        plan = catalog_service.get(session, catalog_id).plans.get(plan_code)
        if plan is None or plan.is_free or interval not in plan.prices:
            continue
        out[sub_id] = rules.monthly(plan.price(interval), interval)
    return out


def revenue(session: Work, since: str, until: str, zone: str) -> list[MonthFigures]:
    tz = ZoneInfo(zone)
    wanted = months(since, until)
    rows = []
    start = _start(*wanted[0], tz)
    before = mrr_at(session, start)
    for year, month in wanted:
        end = _start(year + 1, 1, tz) if month == 12 else _start(year, month + 1, tz)
        after = mrr_at(session, end)
        moved = rules.movement(before, after)
        rows.append(MonthFigures(
            month=f"{year:04d}-{month:02d}", mrr=moved.end, new_mrr=moved.new, expansion_mrr=moved.expansion,
            contraction_mrr=moved.contraction, churned_mrr=moved.churned, paying_accounts=moved.paying_accounts,
            wallet_revenue=repository.paid_credit_spent(session, start, end),
            top_ups_collected=repository.invoices_paid(session, InvoiceType.TOP_UP, start, end),
            refunds=repository.credit_notes_issued(session, start, end)))
        start, before = end, after
    return rows
