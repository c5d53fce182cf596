from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from anyio import to_thread
from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from langganan.audit.service import Actor
from langganan.kit.errors import InvalidRequest, Unprocessable, UnsupportedMediaType
from langganan.kit.openapi import api_router, errors
from langganan.legacy import rules, runner
from langganan.legacy.schemas import ImportReport, LegacyImportRequest, report_out, request_body_openapi
from langganan.web.context import AdminKey, AppContext, Ctx

router = api_router(prefix="/v1", tags=["legacy"])
Rows = list[tuple[int, Mapping[str, str | None]]]


@router.post("/legacy-imports", response_model=ImportReport, openapi_extra=request_body_openapi(),
             responses=errors(415),
             summary="Import legacy postpaid subscribers (operators only)",
             description="A CSV file (`Content-Type: text/csv`) or `{\"rows\": [...]}` as JSON. Each row is "
             "imported on its own: a bad row is reported with its line and reason and does not stop the "
             "others; importing the same row again changes nothing (`unchanged`), a different row for an "
             "already migrated account key is a `conflict` and is not applied. `dry_run=true` checks "
             "everything and keeps nothing.")
async def import_legacy(request: Request, ctx: Ctx, key: AdminKey,
                        dry_run: Annotated[bool, Query(description="Check the rows, keep nothing")] = False,
                        ) -> ImportReport:
    rows = _rows(request.headers.get("content-type", ""), await request.body())
    return await to_thread.run_sync(_run, ctx, rows, dry_run, key.actor)


def _rows(content_type: str, body: bytes) -> Rows:
    media = content_type.split(";")[0].strip().lower()
    if media in ("text/csv", "text/plain"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequest("invalid_csv", "The CSV file is not UTF-8 text.") from exc
        try:
            return list(rules.read_csv(text))
        except rules.FileInvalid as exc:
            raise Unprocessable(exc.code, exc.message, param=exc.param) from exc
    if media == "application/json":
        try:
            parsed = LegacyImportRequest.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from exc
        return [(i, row.model_dump()) for i, row in enumerate(parsed.rows, start=1)]
    raise UnsupportedMediaType("unsupported_media_type",
                               "Send the rows as text/csv or as application/json {\"rows\": [...]}.")


def _run(ctx: AppContext, rows: Rows, dry_run: bool, by: Actor) -> ImportReport:
    return report_out(runner.run(ctx, rows, dry_run=dry_run, by=by), dry_run)
