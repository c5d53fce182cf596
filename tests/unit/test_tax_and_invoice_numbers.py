"""Invoice rules without a database: exclusive PPN at the rate and on the tax base (DPP) of the product
type, rounded down once per invoice, and invoice numbers (DESIGN: Invoices, rule 12). The tax arithmetic
itself (invoices/tax.py) has its own properties in test_ppn_rules.py."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.invoices.rules import Line, format_number, month_key, tax_base_fraction, tax_rate_bps, totals
from langganan.invoices.tax import NILAI_LAIN, PLAIN

PPN = 1100  # 11% on the whole price (before 2025; and what a rate set before LANGGANAN_TAX_BASE_* still means)
PPN_2025 = 1200  # 12%, on DPP nilai lain 11/12 of the price: 11% effective
RATES = {"subscription": PPN, "add_on": 1200, "top_up": 0}


def plan(amount: int) -> Line:
    return Line("plan", "Growth (monthly) subscription", 1, amount, amount)


def discount(amount: int) -> Line:
    return Line("discount", "Promotion LAUNCH (20% off)", 1, -amount, -amount)


def test_ppn_is_added_on_top_of_the_price() -> None:
    t = totals([plan(499_000)], PPN)
    assert (t.subtotal, t.discount, t.tax_base, t.tax, t.total) == (499_000, 0, 499_000, 54_890, 553_890)


def test_ppn_2025_is_12_percent_of_dpp_nilai_lain_rounded_down() -> None:
    t = totals([plan(499_000)], PPN_2025, NILAI_LAIN)
    # DPP = 499.000 × 11/12 = 457.416,67 -> 457.416; PPN = 12% × 457.416 = 54.889,92 -> 54.889
    assert (t.subtotal, t.tax_base, t.tax, t.total) == (499_000, 457_416, 54_889, 553_889)
    t = totals([plan(1_200_000)], PPN_2025, NILAI_LAIN)
    # DPP = 1.100.000 exactly; PPN = 132.000 = 11% of the price
    assert (t.tax_base, t.tax, t.total) == (1_100_000, 132_000, 1_332_000)


def test_ppn_is_charged_on_the_price_after_the_discount() -> None:
    t = totals([plan(499_000), discount(99_800)], PPN)
    assert (t.subtotal, t.discount, t.tax_base) == (499_000, 99_800, 399_200)
    assert t.tax == 43_912  # 11% of 399.200
    assert t.total == 399_200 + 43_912
    t = totals([plan(499_000), discount(99_800)], PPN_2025, NILAI_LAIN)
    # DPP = 399.200 × 11/12 = 365.933,33 -> 365.933; PPN = 12% × 365.933 = 43.911,96 -> 43.911
    assert (t.tax_base, t.tax, t.total) == (365_933, 43_911, 399_200 + 43_911)


def test_a_plan_change_is_taxed_on_the_charge_less_the_unused_time_credit() -> None:
    lines = [Line("proration_credit", "Unused time on Growth (monthly) (20 of 30 days)", 1, -332_667, -332_667),
             Line("proration_charge", "Remaining time on Pro (monthly) (20 of 30 days)", 1, 666_000, 666_000)]
    t = totals(lines, PPN)
    assert (t.subtotal, t.discount, t.tax_base) == (333_333, 0, 333_333)
    assert t.tax == 36_666  # 36.666,63 rounded down
    assert t.total == 369_999


def test_ppn_is_rounded_down_once_per_invoice_not_per_line() -> None:
    # two lines of Rp15: 11% of each is 1,65 (1 each if rounded per line); of the invoice 3,30 -> 3
    t = totals([Line("add_on", "Additional User", 1, 15, 15), Line("add_on", "Additional Contact", 1, 15, 15)], PPN)
    assert (t.tax, t.total) == (3, 33)
    assert totals([plan(150)], PPN).tax == 16  # 16,5 goes down
    assert totals([plan(199)], PPN).tax == 21  # 21,89 goes down too


def test_without_a_rate_there_is_no_tax() -> None:
    t = totals([plan(499_000), discount(99_800)], 0, NILAI_LAIN)
    assert (t.subtotal, t.discount, t.tax, t.total) == (499_000, 99_800, 0, 399_200)
    assert t.tax_base == 365_933  # (the base is still shown; nothing is charged on it)


def test_an_invoice_discounted_to_nothing_owes_nothing_and_no_tax() -> None:
    t = totals([plan(100_000), discount(150_000)], PPN)
    assert (t.subtotal, t.discount, t.tax_base, t.tax, t.total) == (100_000, 150_000, 0, 0, 0)
    assert totals([], PPN) == totals([plan(0)], PPN)
    assert totals([], PPN).total == 0


@pytest.mark.parametrize(("invoice_type", "rate"), [
    ("subscription", PPN), ("renewal", PPN), ("plan_change", PPN),  # subscriptions
    ("add_on", 1200),
    ("top_up", 0),
    ("credit_note", PPN),  # (a credit note corrects a subscription invoice)
])
def test_the_rate_is_the_one_set_for_the_product_type(invoice_type: str, rate: int) -> None:
    assert tax_rate_bps(RATES, invoice_type) == rate


def test_a_product_type_without_a_rate_is_not_taxed() -> None:
    assert tax_rate_bps({"subscription": PPN}, "add_on") == 0
    assert tax_rate_bps({}, "subscription") == 0


def test_the_tax_base_is_the_one_set_for_the_product_type_and_the_whole_price_without_one() -> None:
    fractions = {"subscription": NILAI_LAIN}
    assert tax_base_fraction(fractions, "renewal") == NILAI_LAIN
    assert tax_base_fraction(fractions, "top_up") == PLAIN


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10**9, 10**9), max_size=5), st.lists(st.integers(0, 10**9), max_size=2),
       st.integers(0, 10_000), st.sampled_from([PLAIN, NILAI_LAIN]))
def test_totals_add_up(amounts: list[int], discounts: list[int], rate: int, fraction: object) -> None:
    lines = [Line("plan", "x", 1, a, a) for a in amounts] + [discount(d) for d in discounts]
    t = totals(lines, rate, fraction)  # type: ignore[arg-type]
    assert t.subtotal == sum(amounts) and t.discount == sum(discounts)
    taxable = max(0, t.subtotal - t.discount)
    exact_base = Fraction(taxable) * (Fraction(11, 12) if fraction == NILAI_LAIN else 1)
    assert 0 <= exact_base - t.tax_base < 1  # rounded down to the rupiah
    exact_tax = Fraction(t.tax_base * rate, 10_000)
    assert 0 <= exact_tax - t.tax < 1
    assert t.total == taxable + t.tax >= 0


# -- invoice numbers ---------------------------------------------------------------------------------


def test_the_number_month_is_the_month_in_the_sellers_zone() -> None:
    jakarta = "Asia/Jakarta"
    assert month_key(datetime(2026, 11, 30, 16, 59, tzinfo=UTC), jakarta) == "2026/11"  # 23:59 WIB
    assert month_key(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), jakarta) == "2026/12"  # 00:00 WIB on Dec 1
    assert month_key(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "UTC") == "2026/11"
    assert month_key(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), jakarta) == "2027/01"  # a new year in Jakarta
    assert month_key(datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Jakarta")), "UTC") == "2026/12"


@pytest.mark.parametrize(("value", "number"), [
    (1, "INV/2026/11/00001"),
    (42, "INV/2026/11/00042"),
    (99_999, "INV/2026/11/99999"),
    (100_000, "INV/2026/11/100000"),  # at least five digits, growing past
    (1_234_567, "INV/2026/11/1234567"),
])
def test_invoice_numbers_have_at_least_five_digits(value: int, number: str) -> None:
    assert format_number("2026/11", value) == number
