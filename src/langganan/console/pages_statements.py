"""Console bank statements: upload a statement file (its format, and a generic CSV's columns), see each
credit line with what became of it, and assign a line that matched no invoice (or several) by hand —
through the statements service, the same path as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.console.pages import PAGE_SIZE, Console, ConsolePage, MoneyForm
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.statements import repository, service
from langganan.statements.formats import ColumnMapping

router = api_router(prefix="/console/statements", include_in_schema=False)
FormStr = Annotated[str, Form()]
MAX_FILE = 5 * 1024 * 1024


def _list(c: Console, *, after: str | None = None, form: dict[str, str] | None = None,
          error: DomainError | None = None, status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = repository.list_statements(s, PAGE_SIZE, after or None)
        return c.render("console/statements.html", rows=rows, more=more, formats=service.FORMATS,
                        date_formats=service.DATE_ORDERS, form=form or {}, error=error, http_status=status)


@router.get("", response_class=HTMLResponse)
def statements_page(c: ConsolePage, after: str | None = None) -> HTMLResponse:
    return _list(c, after=after)


@router.post("", response_class=HTMLResponse)
def upload(c: MoneyForm, file: Annotated[UploadFile | None, File()] = None, format: FormStr = "",
                 date_column: FormStr = "", description_column: FormStr = "", amount_column: FormStr = "",
                 credit_column: FormStr = "", balance_column: FormStr = "", date_format: FormStr = "") -> Response:
    form = {"format": format, "date_column": date_column, "description_column": description_column,
            "amount_column": amount_column, "credit_column": credit_column, "balance_column": balance_column,
            "date_format": date_format}
    try:
        if file is None or not file.filename:
            raise Unprocessable("file_required", "Choose the statement file to upload.", param="file")
        data = file.file.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            raise Unprocessable("file_too_large", f"The file is larger than {MAX_FILE // (1024 * 1024)} MB.",
                                param="file")
        mapping: ColumnMapping | None = None
        if format == "generic":
            mapping = service.mapping_of(date_column=date_column.strip(), description_column=description_column.strip(),
                                         amount_column=amount_column.strip(), credit_column=credit_column.strip(),
                                         balance_column=balance_column.strip(), date_format=date_format.strip())
        parsed = service.read(format, data, mapping)
        with c.ctx.unit() as (s, now):
            statement, _rows = service.import_statement(s, parsed, filename=file.filename, by=c.staff, now=now)
            statement_id = statement.id
    except DomainError as exc:
        return _list(c, form=form, error=exc, status=exc.status)
    return RedirectResponse(f"/console/statements/{statement_id}", status_code=303)


def _detail(c: Console, statement_id: str, *, msg: str | None = None, error: DomainError | None = None,
            error_line: int | None = None, status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        statement = repository.get(s, statement_id)
        rows = repository.lines_of(s, statement_id)
        ids = {r.invoice_id for r in rows if r.invoice_id} | {i for r in rows for i in (r.candidates or ())}
        summary: dict[str, int] = {}
        for r in rows:
            summary[r.status] = summary.get(r.status, 0) + 1
        return c.render("console/statement.html", statement=statement, rows=rows, summary=summary,
                        numbers=repository.invoice_numbers(s, ids), assignable=service.ASSIGNABLE, msg=msg,
                        error=error, error_line=error_line, http_status=status)


@router.get("/{statement_id}", response_class=HTMLResponse)
def statement_page(statement_id: str, c: ConsolePage, msg: str | None = None) -> HTMLResponse:
    return _detail(c, statement_id, msg=msg)


@router.post("/{statement_id}/lines/{line}/assign", response_class=HTMLResponse)
def assign(statement_id: str, line: int, c: MoneyForm, invoice: FormStr = "") -> Response:
    """`invoice`: an invoice number (INV/2026/11/00042) or id."""
    try:
        wanted = invoice.strip()
        if not wanted or len(wanted) > 40:
            raise Unprocessable("invoice_required", "Enter the invoice number or id this line pays.",
                                param="invoice_id")
        with c.ctx.unit() as (s, now):
            found = repository.invoices_by_number(s, [wanted.upper()])
            invoice_id = found[0].id if found else wanted
            service.assign(s, statement_id, line, invoice_id, by=c.staff, now=now)
    except DomainError as exc:
        if exc.code == "bank_statement_not_found":
            raise
        return _detail(c, statement_id, error=exc, error_line=line, status=exc.status)
    return RedirectResponse(f"/console/statements/{statement_id}?msg=assigned#line-{line}", status_code=303)
