"""PPN arithmetic (invoices/tax.py) as pure functions: DPP = ⌊price × n/d⌋, PPN = ⌊DPP × rate⌋, total =
price + PPN, once per invoice; 12% on DPP nilai lain 11/12 is 11% of the price, less at most Rp1; and the
spreading of an invoice's figures over its lines (Coretax's GoodService lines) adds up exactly."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.invoices.tax import NILAI_LAIN, PLAIN, BaseFraction, allocate, compute, effective_rate, tax_base, vat

PRICES = st.integers(0, 10**12)  # up to Rp1 trillion
FRACTIONS = st.builds(lambda d, n: BaseFraction(min(n, d), d), st.integers(1, 1000), st.integers(1, 1000))


@settings(max_examples=300, deadline=None)
@given(PRICES, st.integers(0, 10_000), FRACTIONS)
def test_dpp_and_ppn_are_the_exact_values_rounded_down(price: int, rate: int, fraction: BaseFraction) -> None:
    t = compute(price, rate, fraction)
    exact_base = Fraction(price * fraction.numerator, fraction.denominator)
    assert t.base <= exact_base < t.base + 1
    assert t.tax <= Fraction(t.base * rate, 10_000) < t.tax + 1
    assert (t.taxable, t.total) == (price, price + t.tax)
    assert 0 <= t.base <= price and t.tax >= 0


@settings(max_examples=300, deadline=None)
@given(PRICES)
def test_12_percent_on_dpp_nilai_lain_is_11_percent_of_the_price_never_more_at_most_rp1_less(price: int) -> None:
    t = compute(price, 1200, NILAI_LAIN)
    eleven = price * 11 // 100  # 11% rounded down
    assert eleven - 1 <= t.tax <= eleven
    assert effective_rate(1200, NILAI_LAIN) == Fraction(11, 100)


@settings(max_examples=200, deadline=None)
@given(PRICES, st.integers(0, 10_000))
def test_a_plain_base_is_the_price(price: int, rate: int) -> None:
    t = compute(price, rate, PLAIN)
    assert t.base == price and t.tax == price * rate // 10_000


def test_worked_examples() -> None:
    # Growth Rp499.000: DPP 499.000 × 11/12 = 457.416,67 -> 457.416; PPN 12% × 457.416 = 54.889,92 -> 54.889
    assert compute(499_000, 1200, NILAI_LAIN).__dict__ == {"taxable": 499_000, "base": 457_416, "tax": 54_889,
                                                          "total": 553_889}
    # Pro Rp1.200.000: DPP 1.100.000 exactly, PPN 132.000
    assert (tax_base(1_200_000, NILAI_LAIN), vat(1_100_000, 1200)) == (1_100_000, 132_000)
    assert compute(-5, 1200, NILAI_LAIN).total == 0  # a credit beyond the charges owes nothing
    assert compute(11, 1200, NILAI_LAIN).__dict__ == {"taxable": 11, "base": 10, "tax": 1, "total": 12}


@pytest.mark.parametrize(("text", "parts"), [("11/12", (11, 12)), (" 1 / 1 ", (1, 1)), ("1", (1, 1)),
                                             ("1000/1000", (1000, 1000))])
def test_a_fraction_is_read(text: str, parts: tuple[int, int]) -> None:
    f = BaseFraction.parse(text)
    assert (f.numerator, f.denominator) == parts and f.plain == (parts[0] == parts[1])


@pytest.mark.parametrize("text", ["0/12", "13/12", "11/0", "-11/12", "11/1001", "eleven/12", "11/12/1", ""])
def test_a_fraction_that_is_no_part_of_the_price_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        BaseFraction.parse(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**9), min_size=1, max_size=8))
def test_allocation_adds_up_and_is_proportional_within_one_unit(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total and len(shares) == len(weights) and min(shares) >= 0
    whole = sum(weights)
    if whole:
        for share, weight in zip(shares, weights, strict=True):
            assert abs(share - Fraction(total * weight, whole)) < 1
            if total <= whole:
                assert share <= weight  # a discount never exceeds the line it comes off


def test_allocation_of_nothing_and_to_nothing() -> None:
    assert allocate(0, []) == []
    assert allocate(5, [0, 0]) == [5, 0]
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]  # the leftover unit goes to the earliest of equal remainders
    with pytest.raises(ValueError):
        allocate(1, [])
    with pytest.raises(ValueError):
        allocate(-1, [1])
