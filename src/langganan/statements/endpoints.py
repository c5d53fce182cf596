"""Bank statements over HTTP (API.md, Finance): import a file, read a statement, assign a line by hand.
Admin keys only: an import moves money."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Path, Query, Request

from langganan.audit.service import Actor
from langganan.kit.openapi import api_router, errors
from langganan.kit.uploads import read_upload, request_body
from langganan.kit.web import Limit, StartingAfter
from langganan.statements import repository, service
from langganan.statements.formats import ColumnMapping
from langganan.statements.schemas import (
    AssignRequest,
    StatementLineOut,
    StatementList,
    StatementOut,
    StatementSummaryOut,
    line_out,
    statement_out,
)
from langganan.web.context import AdminKey, AppContext, Ctx

router = api_router(prefix="/v1/bank-statements", tags=["bank_statements"])


IMPORT_DESCRIPTION = """\
The body is the bank's CSV download as it is: `Content-Type: text/csv`, or `multipart/form-data` with the
file in the part named `file`. UTF-8 or Windows-1252.

Formats: `bca` (KlikBCA individual "Mutasi Rekening" CSV: `Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo`
with `CR`/`DB` beside the amount), `bca_bisnis` (KlikBCA Bisnis: `Tanggal Transaksi,Keterangan,Cabang,Jumlah`
with `"799,700.00 CR"`), `mandiri` (Livin'/MCM: `Account No,Date,Val. Date,Transaction Code,Description,
Description,Reference No.,Debit,Credit`) and `generic`.

`generic`: a CSV (comma, semicolon or tab) whose first line is a header. Say where the values are with query
parameters naming a header (case and spaces ignored) or a 1-based column number: `date_column`,
`description_column`, and either `amount_column` (signed: a negative amount, `(…)` or a `DB` mark is a debit)
or `credit_column` (money in only); optionally `balance_column` and `date_format` (`DD/MM/YYYY`, the default,
which also reads `DD/MM/YY`, or `YYYY-MM-DD`).

Amounts are whole rupiah with either thousands separator (`1.500.000,00` or `1,500,000.00`); a fraction of a
rupiah is refused. Only credits are imported; debits and pending (`PEND`) rows are skipped.

Each credit line is matched to an invoice: a virtual account number in the description → its payment; else an
invoice number (`INV/2026/11/00042`, or with spaces or dashes) → that invoice; else its amount → the one open
invoice of that total. Its money is received through the same path as a gateway callback: `matched` (paid, or
held short/late), `already_paid` (held as a duplicate), `no_match`/`ambiguous` (received under no account and
held, reason `statement_no_match`, until assigned with `/lines/{line}/assign`). A line already imported (this
file again, or an overlapping period) is `duplicate`: recognised by a checksum of its account, date, amount,
description and balance, it changes nothing.

A file that cannot be read is refused whole with 422, naming the line; nothing is stored."""


@router.post("", response_model=StatementOut, status_code=201, responses=errors(415),
             summary="Import a bank statement file and match its credit lines to invoices (admin keys only)",
             description=IMPORT_DESCRIPTION,
             openapi_extra=request_body("The bank's statement file"))
async def import_statement(
        request: Request, ctx: Ctx, principal: AdminKey,
        format: Annotated[str, Query(description="bca, bca_bisnis, mandiri or generic")],
        date_column: Annotated[str | None, Query(max_length=100, description="generic: the date's column")] = None,
        description_column: Annotated[str | None, Query(max_length=100, description="generic: the description's "
                                                                                    "column")] = None,
        amount_column: Annotated[str | None, Query(max_length=100, description="generic: the signed amount's "
                                                                               "column")] = None,
        credit_column: Annotated[str | None, Query(max_length=100, description="generic: the column of money "
                                                                               "in (instead of amount_column)")] = None,
        balance_column: Annotated[str | None, Query(max_length=100, description="generic: the running "
                                                                                "balance's column")] = None,
        date_format: Annotated[str | None, Query(description="generic: DD/MM/YYYY (default) or YYYY-MM-DD")] = None,
) -> StatementOut:
    mapping: ColumnMapping | None = None
    if format == "generic":
        mapping = service.mapping_of(date_column=date_column, description_column=description_column,
                                     amount_column=amount_column, credit_column=credit_column,
                                     balance_column=balance_column, date_format=date_format)
    data, filename = await read_upload(request, "the statement")
    return await to_thread.run_sync(_import, ctx, service.Upload(format, data, mapping, filename), principal.actor)


def _import(ctx: AppContext, upload: service.Upload, by: Actor) -> StatementOut:
    parsed = upload.read()  # (in the thread pool: a large file is parsed away from the event loop)
    with ctx.unit() as (s, now):
        statement, rows = service.import_statement(s, parsed, filename=upload.filename, by=by, now=now)
        return statement_out(statement, rows, repository.invoice_numbers(s, {r.invoice_id for r in rows
                                                                             if r.invoice_id}))


@router.get("", response_model=StatementList, summary="List imported bank statements, newest first")
def list_statements(ctx: Ctx, _: AdminKey, limit: Limit = 20, starting_after: StartingAfter = None) -> StatementList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_statements(s, limit, starting_after)
        return StatementList(data=[StatementSummaryOut(id=r.id, format=r.format, bank_account=r.bank_account,
                                                       filename=r.filename, imported_at=r.imported_at)
                                   for r in rows], has_more=more)


@router.get("/{statement_id}", response_model=StatementOut, summary="A bank statement and its lines")
def get_statement(statement_id: str, ctx: Ctx, _: AdminKey) -> StatementOut:
    with ctx.unit() as (s, _now):
        statement = repository.get(s, statement_id)
        rows = repository.lines_of(s, statement_id)
        return statement_out(statement, rows, repository.invoice_numbers(s, {r.invoice_id for r in rows
                                                                             if r.invoice_id}))


@router.post("/{statement_id}/lines/{line}/assign", response_model=StatementLineOut, responses=errors(409),
             summary="Assign a no_match or ambiguous line to the invoice it pays (admin keys only)",
             description="The money held for the line since its import becomes the invoice's account's and pays "
             "the invoice (what goes beyond its total stays held as an overpayment; short of it, it is held as an "
             "underpayment of it). 409 `line_not_assignable` for a line that matched already, "
             "`invoice_not_payable` for an invoice that is not open.")
def assign_line(statement_id: str, line: Annotated[int, Path(ge=1, le=10_000_000)], body: AssignRequest,
                ctx: Ctx, principal: AdminKey) -> StatementLineOut:
    with ctx.unit() as (s, now):
        row = service.assign(s, statement_id, line, body.invoice_id, by=principal.actor, now=now)
        return line_out(row, repository.invoice_numbers(s, {body.invoice_id}))
