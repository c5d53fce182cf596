"""Console tax page (finance): a month's Coretax TaxInvoiceBulk files and returns register, and the upload of the
numbers Coretax gave (the same files and rules as /v1/tax-invoices, behind the staff sign-in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, UploadFile
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from langganan.console.pages import Console, MoneyForm, MoneyPage
from langganan.exports import csv_out
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.tax import numbers, returns, service
from langganan.web.errors import PageError

router = api_router(prefix="/console/tax", include_in_schema=False)


def _page(c: Console, *, result: numbers.ImportResult | None = None, error: DomainError | None = None,
          month: str = "") -> HTMLResponse:
    return c.render("console/tax.html", result=result, error=error, month=month,
                    http_status=error.status if error else 200)


@router.get("", response_class=HTMLResponse)
def tax_page(c: MoneyPage, month: str = "") -> HTMLResponse:
    if not month:
        return _page(c)
    try:
        with c.ctx.unit() as (s, _now):
            first = service.document_part(s, c.ctx.settings, month, 1)
    except DomainError as exc:
        return _page(c, error=exc, month=month)
    return c.render("console/tax.html", result=None, error=None, month=month, export=first,
                    parts=range(1, first.parts + 1))


@router.get("/coretax-{month}-part{part}.xml")
def coretax_file(month: str, part: str, c: MoneyPage) -> Response:
    if not part.isdigit():
        raise PageError(404, "error.not_found")
    try:
        with c.ctx.unit() as (s, _now):
            export = service.document_part(s, c.ctx.settings, month, int(part))
    except DomainError:
        raise PageError(404, "error.not_found") from None
    return Response(export.xml, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="coretax-{month}-part{part}.xml"'})


@router.get("/returns-{month}.csv")
def returns_file(month: str, c: MoneyPage) -> StreamingResponse:
    zone = c.ctx.settings.seller_timezone
    try:
        start, end = service.month_bounds(month, zone)
    except DomainError:
        raise PageError(404, "error.not_found") from None
    with c.ctx.unit() as (s, _now):
        rows = returns.csv_rows(s, start, end, zone)
    return StreamingResponse(csv_out.chunks(returns.COLUMNS, rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="coretax-returns-{month}.csv"'})


@router.post("/numbers", response_class=HTMLResponse)
def upload_numbers(c: MoneyForm, file: Annotated[UploadFile | None, File()] = None) -> HTMLResponse:
    try:
        if file is None or not file.filename:
            raise Unprocessable("file_required", "Choose Coretax's list of tax invoices (CSV).", param="file")
        data = file.file.read(numbers.MAX_BYTES + 1)
        if len(data) > numbers.MAX_BYTES:
            raise Unprocessable("file_too_large", f"The file is larger than {numbers.MAX_BYTES // (1024 * 1024)} MB.",
                                param="file")
        with c.ctx.unit() as (s, now):
            result = numbers.import_csv(s, data, by=c.staff.tag, now=now)
    except DomainError as exc:
        return _page(c, error=exc)
    return _page(c, result=result)
