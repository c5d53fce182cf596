"""How much of an invoice a credit note gives back, as pure functions over whole minor units.

A credit note names the money it gives back (`amount`, what the buyer receives, tax included) and reverses the
original's price, tax base (DPP) and tax (PPN) in proportion. The proportion is taken over everything credited
so far, not per note: after credit notes giving back c₁ … cₖ of the original's total N in all (C = Σ cᵢ),

    credited DPP = ⌊B × C ÷ N⌋,   credited PPN = ⌊T × C ÷ N⌋,   credited price = C − credited PPN

(B, T the original's DPP and PPN; rounded down like DJP's whole rupiah, invoices/tax.py), and each note is the
step from the figures before it to those after it. So the notes of one invoice never reverse more DPP or PPN
than it charged, and the note that brings C to N reverses exactly what is left (all of it: the full credit
note is the original negated). Amounts here are positive; the credit note stores them negated.
"""

from __future__ import annotations

from dataclasses import dataclass

from langganan.kit.errors import Conflict, Unprocessable


@dataclass(frozen=True)
class Figures:
    """An invoice's money: price after discounts, DPP, PPN and total (= price + PPN)."""

    price: int
    base: int
    tax: int
    total: int

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.price + other.price, self.base + other.base, self.tax + other.tax,
                       self.total + other.total)


NOTHING = Figures(0, 0, 0, 0)


def remaining(original: Figures, credited: Figures) -> int:
    """What can still be credited of the original's total."""
    return max(0, original.total - credited.total)


def split(original: Figures, credited: Figures, amount: int | None) -> Figures:
    """The figures of a credit note giving back `amount` (None: all that is left) of an invoice whose credit
    notes so far add up to `credited`. Refused (422) for an amount that is not positive, (409) for more than is
    left."""
    left = remaining(original, credited)
    if amount is None:
        amount = left
        if amount <= 0:
            raise Conflict("invoice_fully_credited", "This invoice is credited in full already.")
    if amount <= 0:
        raise Unprocessable("invalid_amount", "A credit note gives back a positive amount.", param="amount")
    if amount > left:
        raise Conflict("credit_exceeds_invoice", f"At most {left} of this invoice can still be credited "
                       f"(its total less the credit notes issued for it).", param="amount")
    after = credited.total + amount
    if after == original.total:
        return Figures(original.price - credited.price, original.base - credited.base,
                       original.tax - credited.tax, amount)
    base = original.base * after // original.total - credited.base
    tax = original.tax * after // original.total - credited.tax
    return Figures(amount - tax, base, tax, amount)
