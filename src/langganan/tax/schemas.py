from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from langganan.tax.models import TaxInvoiceNumber


class TaxInvoiceNumberIn(BaseModel):
    tax_invoice_number: str = Field(max_length=40, description="17 digits (dots, dashes and spaces allowed "
                                    "between them): transaction code, status code (00, or 01 for a replacement) "
                                    "and DJP's serial number")


class TaxInvoiceNumberOut(BaseModel):
    invoice_id: str
    invoice_number: str
    tax_invoice_number: str
    replaces: str | None = Field(description="The number a replacement tax invoice took the place of")
    recorded_at: datetime
    recorded_by: str


class NumberProblem(BaseModel):
    row: int = Field(description="The file's line number (the header is line 1)")
    reference: str
    code: str
    message: str


class NumbersImported(BaseModel):
    recorded: int
    replaced: int
    unchanged: int
    problems: list[NumberProblem]


def number_out(row: TaxInvoiceNumber, invoice_number: str) -> TaxInvoiceNumberOut:
    return TaxInvoiceNumberOut(invoice_id=row.invoice_id, invoice_number=invoice_number, tax_invoice_number=row.number,
                               replaces=row.replaces, recorded_at=row.recorded_at, recorded_by=row.recorded_by)
