"""The numbers Coretax gave our tax invoices, recorded one by one or from a file (tax/models.TaxInvoiceNumber).

Coretax numbers a tax invoice when it is approved, and lists each with the reference we sent (RefDesc: our
invoice number, tax/coretax.py). Recording the numbers back is what lets a credit note name the tax invoice it
corrects (tax/returns.py). A file is a CSV with a header; its columns are found by name: the reference
(`reference`, or Coretax's `Referensi`) and the number (`tax_invoice_number`, or `Nomor Faktur Pajak`).
Recording is idempotent: the same number again changes nothing; a different normal number for an invoice that
has one is a conflict; a replacement number (status 01) takes the place of the one it replaces.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from langganan.invoices.models import Invoice
from langganan.kit.errors import Conflict, NotFoundCode, Unprocessable
from langganan.kit.taxids import is_replacement, tax_invoice_number_digits
from langganan.kit.work import Work
from langganan.tax import repository
from langganan.tax.models import TaxInvoiceNumber

REFERENCE_HEADERS = ("reference", "referensi", "invoice_number")
NUMBER_HEADERS = ("tax_invoice_number", "nomor faktur pajak", "nomor faktur", "nsfp")
MAX_ROWS = 100_000
MAX_BYTES = 20 * 1024 * 1024  # a console upload (the API's body limit applies to its own)


class Recorded(StrEnum):
    RECORDED = "recorded"
    REPLACED = "replaced"  # a replacement number took the place of the invoice's earlier one
    UNCHANGED = "unchanged"


def record(session: Work, invoice: Invoice, text: str, *, by: str, now: datetime) -> Recorded:
    """Record `text` as the tax invoice number of `invoice` (a taxed invoice that is in a Coretax export)."""
    number = tax_invoice_number_digits(text)
    if number is None:
        raise Unprocessable("invalid_tax_invoice_number", "A tax invoice number is 17 digits: a transaction code "
                            "(01-10), a status code (00, or 01 for a replacement) and 13 digits from DJP.",
                            param="tax_invoice_number")
    if not repository.is_exported(invoice):
        raise Conflict("not_a_tax_invoice", f"Invoice {invoice.number} is not in a Coretax export (only paid, taxed "
                       "invoices in rupiah that are not credit notes are).", param="invoice")
    holder = repository.number_holder(session, number)
    if holder is not None and holder.invoice_id != invoice.id:
        raise Conflict("tax_invoice_number_taken", f"Tax invoice number {number} is recorded for another invoice.",
                       param="tax_invoice_number")
    current = session.get(TaxInvoiceNumber, invoice.id)
    if current is None:
        session.add(TaxInvoiceNumber(invoice_id=invoice.id, account_id=invoice.account_id, number=number,
                                     recorded_at=now, recorded_by=by))
        session.flush()
        return Recorded.RECORDED
    if current.number == number:
        return Recorded.UNCHANGED
    if not is_replacement(number):
        raise Conflict("tax_invoice_number_recorded", f"Invoice {invoice.number} already has tax invoice number "
                       f"{current.number}; only a replacement (status code 01) takes its place.",
                       param="tax_invoice_number")
    current.replaces, current.number = current.number, number
    current.recorded_at, current.recorded_by = now, by
    session.flush()
    return Recorded.REPLACED


@dataclass
class ImportResult:
    recorded: int = 0
    replaced: int = 0
    unchanged: int = 0
    problems: list[dict[str, str | int]] = field(default_factory=list)  # {"row", "reference", "code", "message"}


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    folded = [h.strip().lower() for h in header]
    return next((folded.index(name) for name in names if name in folded), None)


def import_csv(session: Work, data: bytes, *, by: str, now: datetime) -> ImportResult:
    """Record every row of a CSV of references and numbers. A row that cannot be recorded (unknown reference,
    a bad or taken number) is reported and skipped; the others are recorded. A file that is not such a CSV is
    refused whole (422)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("invalid_file", "The file is not UTF-8 text.") from exc
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise Unprocessable("invalid_file", f"The file is not CSV: {exc}.") from exc
    if not rows:
        raise Unprocessable("invalid_file", "The file is empty.")
    ref_col, num_col = _column(rows[0], REFERENCE_HEADERS), _column(rows[0], NUMBER_HEADERS)
    if ref_col is None or num_col is None:
        raise Unprocessable("invalid_file", "The header needs a reference column (reference or Referensi) and a "
                            "number column (tax_invoice_number or Nomor Faktur Pajak).")
    if len(rows) - 1 > MAX_ROWS:
        raise Unprocessable("file_too_long", f"A file holds at most {MAX_ROWS} rows.")
    result = ImportResult()
    for position, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        reference = row[ref_col].strip() if ref_col < len(row) else ""
        number = row[num_col].strip() if num_col < len(row) else ""
        invoice = repository.invoice_by_number(session, reference) if reference else None
        try:
            if invoice is None:
                raise NotFoundCode("invoice_not_found", f"No invoice is numbered {reference!r}.")
            outcome = record(session, invoice, number, by=by, now=now)  # (checks everything before it writes)
        except (Unprocessable, Conflict, NotFoundCode) as exc:
            result.problems.append({"row": position, "reference": reference, "code": exc.code,
                                    "message": exc.message})
            continue
        if outcome is Recorded.RECORDED:
            result.recorded += 1
        elif outcome is Recorded.REPLACED:
            result.replaced += 1
        else:
            result.unchanged += 1
    return result
