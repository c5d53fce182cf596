from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from langganan.legacy.rules import MAX_ROWS
from langganan.legacy.service import RowResult


class LegacyRowIn(BaseModel):
    """One legacy postpaid subscriber (the CSV columns). Fields are checked per row, so a missing or
    bad value fails that row only, reported with its reason."""

    model_config = ConfigDict(extra="forbid")
    account_key: str | None = Field(default=None, max_length=200, description="The legacy account key; "
                                    "stored as the account's external_id")
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    plan: str | None = Field(default=None, max_length=40, description="A paid plan code, e.g. growth")
    interval: str | None = Field(default=None, max_length=10, description="month (default) or year")
    enrolled_on: str | None = Field(default=None, max_length=20, description="Enrollment date, YYYY-MM-DD")
    last_unpaid_month: str | None = Field(default=None, max_length=20,
                                          description="The last unpaid postpaid month, YYYY-MM; it is waived")
    locale: str | None = Field(default=None, max_length=5, description="id (default) or en")
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone, default Asia/Jakarta")


class LegacyImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[LegacyRowIn] = Field(min_length=1, max_length=MAX_ROWS)


def request_body_openapi() -> dict[str, Any]:
    """The two accepted bodies, described for /openapi.json (the endpoint reads the raw body)."""
    rows = {"type": "object", "required": ["rows"], "additionalProperties": False,
            "properties": {"rows": {"type": "array", "minItems": 1, "maxItems": MAX_ROWS,
                                    "items": LegacyRowIn.model_json_schema()}}}
    csv = {"type": "string", "description": "CSV with a header line: account_key, name, email, plan, "
           "enrolled_on, last_unpaid_month (required), interval, locale, timezone (optional)."}
    return {"requestBody": {"required": True, "content": {"text/csv": {"schema": csv},
                                                           "application/json": {"schema": rows}}}}


class RowResultOut(BaseModel):
    line: int = Field(description="The CSV line the row starts on (header = line 1), or the JSON row's "
                      "position from 1")
    account_key: str | None
    status: str = Field(description="imported | unchanged | conflict | failed")
    code: str | None = None
    message: str | None = None
    param: str | None = None
    account_id: str | None = None
    invoice_id: str | None = Field(default=None, description="The waived invoice of the last postpaid month")
    invoice_number: str | None = None
    period_end: datetime | None = Field(default=None, description="The next enrollment anniversary, when the "
                                        "prepaid period ends")


class ImportSummary(BaseModel):
    imported: int
    unchanged: int
    conflict: int
    failed: int


class ImportReport(BaseModel):
    dry_run: bool
    summary: ImportSummary
    results: list[RowResultOut]


def report_out(results: list[RowResult], dry_run: bool) -> ImportReport:
    counts = {status: sum(r.status == status for r in results) for status in ImportSummary.model_fields}
    return ImportReport(dry_run=dry_run, summary=ImportSummary(**counts),
                        results=[RowResultOut(**vars(r)) for r in results])
