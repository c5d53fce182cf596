"""Tax invoices for DJP's Coretax (API.md, "Finance"): admin keys only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from langganan.kit.openapi import errors
from langganan.tax import service
from langganan.web.context import AdminKey, Ctx

router = APIRouter(prefix="/v1/tax-invoices", tags=["tax"])

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
