"""PPN (Indonesian VAT) as it is charged since 2025, as pure functions over whole minor units.

PMK 131/2024: the rate is 12%, applied to a tax base (DPP) which for most goods and services is "DPP nilai
lain", 11/12 of the selling price, so that the tax is 11% of the price. Here both are per product type: a
rate in basis points (1200 = 12%) and a tax-base fraction (11/12, or 1/1 for a base that is the price).
PPN is exclusive: added on top of the price after discounts.

Rounding, stated once: the price after discounts (never below 0) is the starting point; then
    DPP = ⌊price × numerator ÷ denominator⌋        (whole rupiah, rounded down)
    PPN = ⌊DPP × rate ÷ 10.000⌋                    (whole rupiah, rounded down)
    total = price + PPN
once per invoice, never per line. Rounded down because DJP writes rupiah amounts on tax documents in
whole rupiah with the fraction dropped (SE-22/PJ.24/1990; the SPT Masa PPN instructions: "dihitung dalam
satuan Rupiah penuh (dibulatkan ke bawah)"); DPP rounds the same way so that PPN = rate × DPP holds exactly
for the DPP printed on the invoice, which Coretax checks for transaction code 04 ("PPN = Tarif × DPP Nilai
Lain"). The buyer so pays at most Rp1 less than 11% of the price, never more: Growth Rp499.000 has DPP
⌊457.416,67⌋ = 457.416 and PPN ⌊54.889,92⌋ = 54.889 (11% would be 54.890).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

MAX_DENOMINATOR = 1000  # a tax-base fraction's denominator, at most (config.MAX_TAX_BASE_DENOMINATOR)


@dataclass(frozen=True)
class BaseFraction:
    """The part of the price that is the tax base: numerator/denominator, 0 < numerator <= denominator."""

    numerator: int = 1
    denominator: int = 1

    def __post_init__(self) -> None:
        if not (0 < self.numerator <= self.denominator <= MAX_DENOMINATOR):
            raise ValueError(f"a tax-base fraction must be n/d with 0 < n <= d <= {MAX_DENOMINATOR}")

    @classmethod
    def parse(cls, text: str) -> BaseFraction:
        """'11/12' or '1' (= 1/1); whole numbers only."""
        top, slash, bottom = text.strip().partition("/")
        try:
            return cls(int(top.strip()), int(bottom.strip()) if slash else 1)
        except ValueError:
            raise ValueError(f"{text!r} is not a tax-base fraction such as 11/12 or 1/1") from None

    @property
    def plain(self) -> bool:
        """The tax base is the whole price."""
        return self.numerator == self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


PLAIN = BaseFraction(1, 1)
NILAI_LAIN = BaseFraction(11, 12)  # DPP nilai lain of PMK 131/2024


@dataclass(frozen=True)
class Tax:
    taxable: int  # the price after discounts, never below 0 (harga jual)
    base: int  # DPP: the part of it the rate applies to
    tax: int  # PPN
    total: int  # taxable + tax


def tax_base(taxable: int, fraction: BaseFraction = PLAIN) -> int:
    """DPP: ⌊taxable × fraction⌋."""
    return (max(0, taxable) * fraction.numerator) // fraction.denominator


def vat(base: int, rate_bps: int) -> int:
    """PPN: ⌊base × rate⌋, the rate in basis points."""
    if rate_bps < 0:
        raise ValueError("a tax rate cannot be negative")
    return (max(0, base) * rate_bps) // 10_000


def compute(taxable: int, rate_bps: int, fraction: BaseFraction = PLAIN) -> Tax:
    """DPP, PPN and total of an invoice whose price after discounts is `taxable` (see the module's rounding)."""
    taxable = max(0, taxable)
    base = tax_base(taxable, fraction)
    tax = vat(base, rate_bps)
    return Tax(taxable=taxable, base=base, tax=tax, total=taxable + tax)


def effective_rate(rate_bps: int, fraction: BaseFraction) -> Fraction:
    """The tax as a part of the price before rounding: 12% on 11/12 is 11/100."""
    return Fraction(rate_bps * fraction.numerator, 10_000 * fraction.denominator)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split over `weights` (each >= 0) in proportion, in whole units that add up to `total`
    exactly: each share rounded down, the units left over going to the largest remainders (the earliest
    first on a tie). All weights 0: everything to the first. Used to show an invoice's discount, DPP and PPN
    line by line without changing the invoice's own figures."""
    if not weights:
        if total:
            raise ValueError("nothing to allocate to")
        return []
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("neither the total nor a weight can be negative")
    whole = sum(weights)
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares
