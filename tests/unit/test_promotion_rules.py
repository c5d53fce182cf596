"""Promotion rules without a database (DESIGN rule 8): what a period's plan line is discounted by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from langganan.invoices.rules import Line
from langganan.promotions.rules import Terms, discount, discount_line, normalise_code, plan_lines

START = datetime(2026, 3, 1, 3, tzinfo=UTC)
ENDS = datetime(2026, 6, 1, tzinfo=UTC)
LAUNCH = Terms("LAUNCH", 20, None, "IDR", ("growth", "pro"), ENDS)
HEMAT = Terms("HEMAT", None, 100_000, "IDR", ("growth",), ENDS)
GROWTH_LINE = Line("plan", "Growth (monthly) subscription", 1, 499_000, 499_000)


def test_codes_are_matched_without_case_or_surrounding_spaces() -> None:
    assert normalise_code("  launch2026 ") == "LAUNCH2026"
    assert normalise_code("HEMAT") == "HEMAT"


def test_a_fixed_discount_takes_its_amount_off_and_never_more_than_the_price() -> None:
    assert discount(HEMAT, "growth", 499_000, START) == 100_000
    assert discount(HEMAT, "growth", 60_000, START) == 60_000  # never below 0
    assert discount(Terms("ZERO", None, 0, "IDR", ("growth",), ENDS), "growth", 499_000, START) == 0


def test_a_percent_discount_rounds_half_up_to_the_rupiah() -> None:
    assert discount(LAUNCH, "growth", 499_000, START) == 99_800
    assert discount(LAUNCH, "pro", 2, START) == 0  # 0,4
    assert discount(Terms("HALF", 50, None, "IDR", ("growth",), ENDS), "growth", 1, START) == 1  # 0,5 goes up
    assert discount(Terms("ALL", 100, None, "IDR", ("growth",), ENDS), "growth", 1, START) == 1
    assert discount(LAUNCH, "growth", 0, START) == 0  # nothing to discount on a free line


def test_only_periods_that_start_before_the_end_get_the_discount() -> None:
    assert discount(LAUNCH, "growth", 499_000, ENDS - timedelta(seconds=1)) == 99_800
    assert discount(LAUNCH, "growth", 499_000, ENDS) == 0
    assert discount(None, "growth", 499_000, START) == 0


def test_the_discount_line_names_the_promotion() -> None:
    assert discount_line(LAUNCH, 99_800) == Line("discount", "Promotion LAUNCH (20% off)", 1, -99_800, -99_800)
    assert discount_line(HEMAT, 100_000) == Line("discount", "Promotion HEMAT (Rp100.000 off)", 1, -100_000,
                                                 -100_000)


def test_a_discounted_plan_line_is_followed_by_its_discount_line() -> None:
    assert plan_lines(GROWTH_LINE, LAUNCH, "growth", START) == (
        [GROWTH_LINE, Line("discount", "Promotion LAUNCH (20% off)", 1, -99_800, -99_800)], 399_200)
    assert plan_lines(GROWTH_LINE, HEMAT, "growth", START)[1] == 399_000


def test_without_a_discount_the_plan_line_stands_alone_at_full_price() -> None:
    assert plan_lines(GROWTH_LINE, None, "growth", START) == ([GROWTH_LINE], 499_000)
    assert plan_lines(GROWTH_LINE, HEMAT, "pro", START) == ([GROWTH_LINE], 499_000)  # not an eligible plan
    assert plan_lines(GROWTH_LINE, LAUNCH, "growth", ENDS) == ([GROWTH_LINE], 499_000)  # starts at the end
    tiny = Line("plan", "x", 1, 2, 2)
    assert plan_lines(tiny, LAUNCH, "growth", START) == ([tiny], 2)  # a discount that rounds to 0: no line
