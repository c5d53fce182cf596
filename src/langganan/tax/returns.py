"""A month's credit notes as a returns register for Coretax: what each gave back of which tax invoice, and the
step the seller takes for it in Coretax.

Coretax takes no returns in a TaxInvoiceBulk (tax/service.py). How a tax invoice is corrected depends on who
bought: under PMK 81/2024 (art. 288) a return or cancellation note (nota retur / nota pembatalan) is made in
Coretax by the BUYER, when the buyer is a VAT-registered business that can credit the input tax; otherwise
the SELLER corrects its own tax invoice: it cancels it when the whole invoice was credited, or issues a
replacement (faktur pengganti, status code 01) with what remains when part was. So each row suggests one step:

- `buyer_return`: the buyer names a tax ID (NPWP): its nota retur/pembatalan names the original tax invoice
  number, the DPP (other tax base) and PPN given back, which this row gives;
- `cancel`: no buyer tax ID, credited in full: cancel the original tax invoice in Coretax;
- `replace`: no buyer tax ID, credited in part: a replacement tax invoice with the remaining figures, which this
  row gives (remaining after every credit note up to and including this one);
- `none`: the original carried no PPN, so nothing is filed.

Which steps apply is the taxpayer's decision; the register is the data for either. The original's tax invoice
number is known once recorded (tax/numbers.py); a row without it says so (an empty column).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from langganan.invoices.credits import NOTHING, Figures
from langganan.invoices.models import Invoice
from langganan.invoices.service import figures_of, given_back
from langganan.kit.work import Work
from langganan.tax import coretax, repository
from langganan.tax.models import TaxInvoiceNumber


class Step(StrEnum):
    BUYER_RETURN = "buyer_return"
    CANCEL = "cancel"
    REPLACE = "replace"
    NONE = "none"


COLUMNS = ("credit_note_number", "credit_note_date", "original_invoice_number", "original_tax_invoice_date",
           "original_tax_invoice_number", "transaction_code", "buyer_tin", "buyer_document",
           "buyer_document_number", "buyer_idtku", "buyer_name", "vat_rate", "price_returned",
           "other_tax_base_returned", "vat_returned", "credited_in_full", "remaining_price",
           "remaining_other_tax_base", "remaining_vat", "suggested_step")


def step_for(original: Invoice, buyer_tin: str, in_full: bool) -> Step:
    if original.tax <= 0:
        return Step.NONE
    if buyer_tin != coretax.NO_TIN:
        return Step.BUYER_RETURN
    return Step.CANCEL if in_full else Step.REPLACE


def row(note: Invoice, original: Invoice, earlier: Sequence[Invoice], number: TaxInvoiceNumber | None,
        zone: str) -> dict[str, str | int]:
    """One credit note's register row; `earlier` are the original's credit notes issued before it."""
    back = given_back(note)
    credited = sum((given_back(n) for n in earlier), NOTHING) + back
    whole = figures_of(original)
    left = Figures(whole.price - credited.price, whole.base - credited.base, whole.tax - credited.tax,
                   whole.total - credited.total)
    identity = coretax.buyer_identity(original.buyer or {})
    in_full = left.total <= 0
    tz = ZoneInfo(zone)
    return {
        "credit_note_number": note.number, "credit_note_date": note.issued_at.astimezone(tz).date().isoformat(),
        "original_invoice_number": original.number,
        "original_tax_invoice_date": original.paid_at.astimezone(tz).date().isoformat() if original.paid_at else "",
        "original_tax_invoice_number": number.number if number else "",
        "transaction_code": coretax.TRX_PLAIN if original.tax_base_amount == original.taxable
        else coretax.TRX_OTHER_BASE,
        "buyer_tin": identity["buyer_tin"], "buyer_document": identity["buyer_document"],
        "buyer_document_number": identity["buyer_document_number"], "buyer_idtku": identity["buyer_idtku"],
        "buyer_name": str((original.buyer or {}).get("name") or ""),
        "vat_rate": coretax.rate_text(original.tax_rate_bps), "price_returned": back.price,
        "other_tax_base_returned": back.base, "vat_returned": back.tax, "credited_in_full": "yes" if in_full else "no",
        "remaining_price": left.price, "remaining_other_tax_base": left.base, "remaining_vat": left.tax,
        "suggested_step": step_for(original, identity["buyer_tin"], in_full).value,
    }


def register(session: Work, start: datetime, end: datetime, zone: str) -> Iterator[dict[str, str | int]]:
    """The rows of the credit notes issued in [start, end), in the order they were issued."""
    notes = repository.returns(session, start, end)
    original_ids = sorted({n.original_invoice_id for n in notes if n.original_invoice_id})
    originals = repository.invoices_by_id(session, original_ids)
    numbers = repository.numbers_of(session, original_ids)
    siblings: dict[str, list[Invoice]] = {}
    for n in repository.credit_notes_of(session, original_ids):
        siblings.setdefault(n.original_invoice_id or "", []).append(n)
    for note in notes:
        original = originals.get(note.original_invoice_id or "")
        if original is None:
            continue
        earlier = [n for n in siblings.get(original.id, [])
                   if (n.issued_at, n.id) < (note.issued_at, note.id)]
        yield row(note, original, earlier, numbers.get(original.id), zone)


def csv_rows(session: Work, start: datetime, end: datetime, zone: str) -> list[list[str | int]]:
    """The register's rows as CSV cells in COLUMNS order (a month's credit notes are few: read at once)."""
    return [[r[c] for c in COLUMNS] for r in register(session, start, end, zone)]
