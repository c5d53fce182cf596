"""Console finance pages: revenue figures per month with a chart per series, and CSV exports (the same
reports and files as GET /v1/reports/revenue and GET /v1/exports/{kind}.csv, behind the staff sign-in)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse, StreamingResponse

from langganan.console.pages import ConsolePage, MoneyPage
from langganan.exports import service as exports
from langganan.exports.tables import ExportKind
from langganan.kit.errors import DomainError
from langganan.kit.openapi import api_router
from langganan.reports import service as reports
from langganan.web.errors import PageError

router = api_router(prefix="/console", include_in_schema=False)
SERIES = ("mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "paying_accounts", "wallet_revenue",
          "top_ups_collected", "refunds")
MONTHS_SHOWN = 12


def _default_range(now: datetime, zone: str) -> tuple[str, str]:
    local = now.astimezone(ZoneInfo(zone))
    first = local.year * 12 + local.month - 1 - (MONTHS_SHOWN - 1)
    return f"{first // 12:04d}-{first % 12 + 1:02d}", f"{local.year:04d}-{local.month:02d}"


def _chart(rows: list[reports.MonthFigures], name: str) -> dict[str, Any]:
    values = [int(getattr(r, name)) for r in rows]
    top = max([*values, 1])
    return {"name": name, "bars": [{"month": r.month, "value": v, "height": round(100 * v / top)}
                                   for r, v in zip(rows, values, strict=True)]}


@router.get("/revenue", response_class=HTMLResponse)
def revenue_page(c: ConsolePage, since: str | None = None, until: str | None = None) -> HTMLResponse:
    error = None
    rows: list[reports.MonthFigures] = []
    with c.ctx.unit() as (s, now):
        default_since, default_until = _default_range(now, c.ctx.settings.seller_timezone)
        since, until = since or default_since, until or default_until
        try:
            rows = reports.revenue(s, since, until, c.ctx.settings.seller_timezone)
        except DomainError as exc:
            error = exc
    return c.render("console/revenue.html", rows=rows, since=since, until=until, error=error,
                    charts=[_chart(rows, name) for name in SERIES] if rows else [],
                    http_status=error.status if error else 200)


@router.get("/exports", response_class=HTMLResponse)
def exports_page(c: MoneyPage) -> HTMLResponse:
    return c.render("console/exports.html", kinds=[k.value for k in ExportKind])


@router.get("/exports/{kind}.csv")
def export_download(kind: str, c: MoneyPage, since: str | None = None, until: str | None = None
                    ) -> StreamingResponse:
    try:
        chosen = ExportKind(kind)
    except ValueError:
        raise PageError(404, "error.not_found") from None
    try:
        start, end = exports.day_range(since, until, c.ctx.settings.seller_timezone)
    except DomainError:
        raise PageError(422, "error.bad_request") from None
    return StreamingResponse(exports.stream(c.ctx.db, chosen, start, end), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="'
                                                             f'{exports.filename(chosen, since, until)}"'})
