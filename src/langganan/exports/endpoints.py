from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import StreamingResponse

from langganan.exports import service
from langganan.exports.tables import ExportKind
from langganan.kit.openapi import api_router, errors
from langganan.web.context import AdminKey, Ctx

router = api_router(prefix="/v1/exports", tags=["exports"])
DAY = "A date YYYY-MM-DD (a whole day in the seller's time zone, LANGGANAN_SELLER_TIMEZONE)"


@router.get("/{kind}.csv", summary="A CSV export of a date range, streamed (any size)",
            description="invoices and credit-notes by issue time, payments by creation time, ledger and usage by "
            "the time the entry was recorded. Amounts are integers in the currency's minor unit (IDR: rupiah), "
            "usage amounts positive (what was debited); audit by the time of the action, its `before` and `after` "
            "as JSON; times are UTC (RFC 3339). Admin keys only.",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "The CSV file (a header row first)."},
                       **errors(422)})
def export_csv(kind: Literal["invoices", "payments", "credit-notes", "ledger", "usage", "audit"], ctx: Ctx,
               _: AdminKey,
               since: Annotated[str | None, Query(description=f"{DAY}: the first day included")] = None,
               until: Annotated[str | None, Query(description=f"{DAY}: the last day included")] = None
               ) -> StreamingResponse:
    start, end = service.day_range(since, until, ctx.settings.seller_timezone)
    chosen = ExportKind(kind)
    return StreamingResponse(service.stream(ctx.db, chosen, start, end), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="'
                                                             f'{service.filename(chosen, since, until)}"'})
