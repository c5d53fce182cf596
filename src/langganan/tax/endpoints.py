"""Tax invoices for DJP's Coretax (API.md, "Finance"): admin keys only."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse

from langganan.exports import csv_out
from langganan.invoices import repository as invoices_repo
from langganan.kit.errors import NotFoundCode
from langganan.kit.openapi import api_router, errors
from langganan.kit.uploads import read_upload, request_body
from langganan.tax import numbers, repository, returns, service
from langganan.tax.schemas import NumberProblem, NumbersImported, TaxInvoiceNumberIn, TaxInvoiceNumberOut, number_out
from langganan.web.context import AdminKey, AppContext, Ctx

router = api_router(prefix="/v1/tax-invoices", tags=["tax"])

PART_HEADERS = {
    "Coretax-Part": "This file's part number (1-based)",
    "Coretax-Parts": "How many parts the month has (1.000 tax invoices each at most)",
    "Coretax-Invoices": "How many tax invoices the month has in all its parts",
    "Coretax-Returns-Left-Out": "Credit notes of the month, which these files do not carry (returns)",
}


@router.get("/coretax.xml", response_class=Response, responses={
    200: {"content": {"application/xml": {}}, "description": "A TaxInvoiceBulk document",
          "headers": {name: {"description": text, "schema": {"type": "integer"}}
                      for name, text in PART_HEADERS.items()}},
    **errors(404)},
    summary="A month's tax invoices as the XML DJP's Coretax imports (TaxInvoiceBulk), 1.000 a part")
def coretax_xml(ctx: Ctx, _: AdminKey,
                month: Annotated[str, Query(description="YYYY-MM, a calendar month in the seller's zone",
                                            max_length=7)],
                part: Annotated[int, Query(ge=1, le=1_000_000, description="Which thousand of the month's "
                                                                             "invoices (see Coretax-Parts)")] = 1,
                ) -> Response:
    with ctx.unit() as (s, _now):
        export = service.document_part(s, ctx.settings, month, part)
    headers = {"Coretax-Part": str(export.part), "Coretax-Parts": str(export.parts),
               "Coretax-Invoices": str(export.invoices), "Coretax-Returns-Left-Out": str(export.returns_left_out),
               "Content-Disposition": f'attachment; filename="coretax-{export.month}-part{export.part}.xml"'}
    if export.part < export.parts:
        headers["Link"] = f'</v1/tax-invoices/coretax.xml?month={export.month}&part={export.part + 1}>; rel="next"'
    return Response(export.xml, media_type="application/xml", headers=headers)


RETURNS_DESCRIPTION = """The credit notes issued in the month (seller's zone) as CSV, one row each: the original
invoice and its tax invoice number (once recorded), the buyer's identity as Coretax names it, the price, other tax
base (DPP nilai lain) and PPN given back, what remains of the original after it, and the suggested Coretax step:
`buyer_return` (a buyer with a tax ID files the return or cancellation note), `cancel` (credited in full: cancel the
tax invoice), `replace` (credited in part: a replacement tax invoice with the remaining figures), `none` (no PPN)."""


@router.get("/returns.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {}}, "description": "The month's returns register"}},
    summary="A month's credit notes as a returns register for Coretax (admin keys only)",
    description=RETURNS_DESCRIPTION)
def returns_csv(ctx: Ctx, _: AdminKey,
                month: Annotated[str, Query(description="YYYY-MM, a calendar month in the seller's zone",
                                            max_length=7)]) -> StreamingResponse:
    start, end = service.month_bounds(month, ctx.settings.seller_timezone)
    with ctx.unit() as (s, _now):
        rows = returns.csv_rows(s, start, end, ctx.settings.seller_timezone)
    return StreamingResponse(csv_out.chunks(returns.COLUMNS, rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="coretax-returns-{month}.csv"'})


IMPORT_NUMBERS_DESCRIPTION = """A CSV with a header naming a reference column (`reference`, or Coretax's
`Referensi`: our invoice number, which the Coretax export sends as RefDesc) and a number column
(`tax_invoice_number`, or `Nomor Faktur Pajak`), comma or semicolon separated. Each row records the number of that
invoice's tax invoice; a row that cannot be recorded (unknown reference, a number that is not 17 digits, taken by
another invoice, or different from the one recorded without being a replacement) is listed in `problems` and the
others are recorded. Re-importing a file changes nothing."""


@router.post("/numbers", response_model=NumbersImported, responses=errors(415),
             summary="Record the tax invoice numbers Coretax gave (admin keys only)",
             description=IMPORT_NUMBERS_DESCRIPTION,
             openapi_extra=request_body("Coretax's list of approved tax invoices, as CSV (a multipart part "
                                                      "named file is accepted too)", multipart=False))
async def import_numbers(request: Request, ctx: Ctx, principal: AdminKey) -> NumbersImported:
    data, _filename = await read_upload(request, "the list of tax invoice numbers")
    return await to_thread.run_sync(_import_numbers, ctx, data, f"api_key:{principal.key_id}")


def _import_numbers(ctx: AppContext, data: bytes, by: str) -> NumbersImported:
    with ctx.unit() as (s, now):
        result = numbers.import_csv(s, data, by=by, now=now)
        return NumbersImported(recorded=result.recorded, replaced=result.replaced, unchanged=result.unchanged,
                               problems=[NumberProblem.model_validate(p) for p in result.problems])


invoice_router = api_router(prefix="/v1/invoices", tags=["tax"])


@invoice_router.put("/{invoice_id}/tax-invoice-number", response_model=TaxInvoiceNumberOut,
                    responses=errors(404, 409, 422),
                    summary="Record the number Coretax gave this invoice's tax invoice (admin keys only)")
def put_number(invoice_id: str, body: TaxInvoiceNumberIn, ctx: Ctx, principal: AdminKey) -> TaxInvoiceNumberOut:
    with ctx.unit() as (s, now):
        invoice = invoices_repo.get(s, invoice_id)
        numbers.record(s, invoice, body.tax_invoice_number, by=f"api_key:{principal.key_id}", now=now)
        return number_out(repository.numbers_of(s, [invoice.id])[invoice.id], invoice.number)


@invoice_router.get("/{invoice_id}/tax-invoice-number", response_model=TaxInvoiceNumberOut, responses=errors(404),
                    summary="The number Coretax gave this invoice's tax invoice, once recorded")
def get_number(invoice_id: str, ctx: Ctx, _: AdminKey) -> TaxInvoiceNumberOut:
    with ctx.unit() as (s, _now):
        invoice = invoices_repo.get(s, invoice_id)
        recorded = repository.numbers_of(s, [invoice.id]).get(invoice.id)
        if recorded is None:
            raise NotFoundCode("tax_invoice_number_not_found", f"No tax invoice number is recorded for invoice "
                               f"{invoice.number}.")
        return number_out(recorded, invoice.number)
