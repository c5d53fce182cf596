"""Invoice rules without a database: exclusive PPN at the rate of the product type, and invoice numbers
(DESIGN: Invoices, rule 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.invoices.rules import Line, format_number, month_key, tax_rate_bps, totals
from langganan.kit.money import apply_rate_bps, round_half_up

PPN = 1100  # 11%: 12% on a tax base (DPP) of 11/12 of the price, the effective rate since 2025
RATES = {"subscription": PPN, "add_on": 1200, "top_up": 0}


def plan(amount: int) -> Line:
    return Line("plan", "Growth (monthly) subscription", 1, amount, amount)


def discount(amount: int) -> Line:
    return Line("discount", "Promotion LAUNCH (20% off)", 1, -amount, -amount)


def test_ppn_is_added_on_top_of_the_price() -> None:
    t = totals([plan(499_000)], PPN)
    assert (t.subtotal, t.discount, t.tax, t.total) == (499_000, 0, 54_890, 553_890)


def test_ppn_is_charged_on_the_price_after_the_discount() -> None:
    t = totals([plan(499_000), discount(99_800)], PPN)
    assert (t.subtotal, t.discount) == (499_000, 99_800)
    assert t.tax == 43_912  # 11% of 399.200
    assert t.total == 399_200 + 43_912


def test_a_plan_change_is_taxed_on_the_charge_less_the_unused_time_credit() -> None:
    lines = [Line("proration_credit", "Unused time on Growth (monthly) (20 of 30 days)", 1, -332_667, -332_667),
             Line("proration_charge", "Remaining time on Pro (monthly) (20 of 30 days)", 1, 666_000, 666_000)]
    t = totals(lines, PPN)
    assert (t.subtotal, t.discount) == (333_333, 0)
    assert t.tax == 36_667  # 36.666,63 rounded half up
    assert t.total == 370_000


def test_ppn_is_rounded_half_up_once_per_invoice_not_per_line() -> None:
    # two lines of Rp15: 11% of each is 1,65 (2 each if rounded per line); of the invoice 3,30 -> 3
    t = totals([Line("add_on", "Additional User", 1, 15, 15), Line("add_on", "Additional Contact", 1, 15, 15)], PPN)
    assert (t.tax, t.total) == (3, 33)
    assert totals([plan(150)], PPN).tax == 17  # 16,5 goes up (not to the even 16)
    assert totals([plan(149)], PPN).tax == 16  # 16,39 goes down


def test_without_a_rate_there_is_no_tax() -> None:
    t = totals([plan(499_000), discount(99_800)], 0)
    assert (t.subtotal, t.discount, t.tax, t.total) == (499_000, 99_800, 0, 399_200)


def test_an_invoice_discounted_to_nothing_owes_nothing_and_no_tax() -> None:
    t = totals([plan(100_000), discount(150_000)], PPN)
    assert (t.subtotal, t.discount, t.tax, t.total) == (100_000, 150_000, 0, 0)
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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10**9, 10**9), max_size=5), st.lists(st.integers(0, 10**9), max_size=2),
       st.integers(0, 10_000))
def test_totals_add_up(amounts: list[int], discounts: list[int], rate: int) -> None:
    lines = [Line("plan", "x", 1, a, a) for a in amounts] + [discount(d) for d in discounts]
    t = totals(lines, rate)
    assert t.subtotal == sum(amounts) and t.discount == sum(discounts)
    taxable = max(0, t.subtotal - t.discount)
    exact = Fraction(taxable * rate, 10_000)
    assert abs(t.tax - exact) <= Fraction(1, 2)  # rounded to the rupiah, never more than half off
    assert t.tax == round_half_up(exact) == apply_rate_bps(taxable, rate)
    assert t.total == taxable + t.tax >= 0


def test_the_rate_is_in_basis_points() -> None:
    assert apply_rate_bps(10_000, 1) == 1  # 0,01%
    assert apply_rate_bps(499_000, 1100) == 54_890
    assert apply_rate_bps(499_000, 10_000) == 499_000  # 100%
    assert apply_rate_bps(5, 1000) == 1  # 0,5 goes up


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
