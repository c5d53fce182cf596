"""Credit notes: each refers to a paid invoice of its account that is not a credit note, the credit notes of an
invoice never give back more than it charged (total, DPP, PPN), and each one's money went back as recorded: one
succeeded refund row of its total, with the reference a manual or gateway refund needs, and what it moved in a
wallet in the ledger (adjustments that refer to it). A refund that failed or still waits has no credit note and
its wallet adjustments (a top-up's claimed credit) add up to what it says (issue 15)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from langganan.config import Settings
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.work import Work
from langganan.payments.models import CreditRefund, CreditRefundStatus, RefundTo
from langganan.verify.violation import Violation
from langganan.wallets.models import EntryType, WalletEntry


def check(session: Work, _settings: Settings) -> list[Violation]:
    out: list[Violation] = []
    original = aliased(Invoice)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    limits: dict[str, tuple[str, int, int, int]] = {}
    notes = session.execute(select(Invoice, original).outerjoin(original, original.id == Invoice.original_invoice_id)
                            .where(Invoice.type == InvoiceType.CREDIT_NOTE).order_by(Invoice.id)).all()
    for note, orig in notes:
        ids = {"invoice_id": note.id, "number": note.number}
        if orig is None or orig.type == InvoiceType.CREDIT_NOTE or orig.status != InvoiceStatus.PAID \
                or orig.account_id != note.account_id or orig.currency != note.currency:
            out.append(Violation("credit_note_original", f"credit note {note.number} does not refer to a paid "
                                 f"invoice of its account and currency ({note.original_invoice_id})", ids))
            continue
        if note.status != InvoiceStatus.PAID:
            out.append(Violation("credit_note_status", f"credit note {note.number} is {note.status}, not settled",
                                 ids))
        s = sums[orig.id]
        s[0] -= note.total
        s[1] -= note.tax_base_amount
        s[2] -= note.tax
        limits[orig.id] = (orig.number, orig.total, orig.tax_base_amount, orig.tax)
    for orig_id, (total, base, tax) in sorted(sums.items()):
        number, o_total, o_base, o_tax = limits[orig_id]
        if total > o_total or base > o_base or tax > o_tax:
            out.append(Violation("credit_exceeds_invoice", f"invoice {number}: its credit notes give back {total} "
                                 f"(DPP {base}, PPN {tax}), more than it charged {o_total} (DPP {o_base}, PPN "
                                 f"{o_tax})", {"invoice_id": orig_id}))
    moved = {str(ref): int(amount or 0) for ref, amount in session.execute(
        select(WalletEntry.reference, func.sum(WalletEntry.amount))
        .join(CreditRefund, CreditRefund.credit_note_id == WalletEntry.reference)
        .where(WalletEntry.type == EntryType.ADJUSTMENT).group_by(WalletEntry.reference))}
    refunds = {r.credit_note_id: r for r in session.scalars(select(CreditRefund).order_by(CreditRefund.id))}
    issued = {note.id: note for note, _orig in notes}
    for note_id, note in issued.items():
        r = refunds.get(note_id)
        ids = {"invoice_id": note_id, "number": note.number}
        if r is None or r.status != CreditRefundStatus.SUCCEEDED or r.amount != -note.total \
                or r.invoice_id != note.original_invoice_id:
            out.append(Violation("credit_note_refund", f"credit note {note.number} (total {note.total}) has no "
                                 f"succeeded refund of {-note.total} recorded", ids))
        elif r.method in (RefundTo.MANUAL, RefundTo.GATEWAY) and not r.reference:
            out.append(Violation("credit_note_refund", f"credit note {note.number}: its {r.method} refund has no "
                                 f"reference", ids))
    for note_id, r in refunds.items():
        if r.status != CreditRefundStatus.SUCCEEDED and note_id in issued:
            out.append(Violation("credit_note_refund", f"refund {r.id} is {r.status} but its credit note was "
                                 f"issued", {"credit_refund_id": r.id}))
        if int(moved.get(note_id) or 0) != r.wallet_amount:
            out.append(Violation("credit_note_wallet", f"refund {r.id} moved {r.wallet_amount} in a wallet, but its "
                                 f"ledger adjustments add up to {int(moved.get(note_id) or 0)}",
                                 {"credit_refund_id": r.id}))
    return out
