"""Money amounts: integers in the minor unit, half-up rounding, proration, formatting."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.kit.money import apply_rate_bps, format_money, parse_percent_to_bps, prorate, round_half_up

FAST = settings(max_examples=100, deadline=None)

amounts = st.integers(min_value=0, max_value=10**12)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),  # .5 goes away from zero on both signs
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(3, 2), 2),
        (Fraction(-3, 2), -2),
        (Fraction(249, 100), 2),
        (Fraction(-249, 100), -2),
        (Fraction(251, 100), 3),
        (Fraction(-251, 100), -3),
        (Fraction(0), 0),
        (Fraction(7), 7),
        (Fraction(-7), -7),
    ],
)
def test_round_half_up(value: Fraction, expected: int) -> None:
    got = round_half_up(value)
    assert got == expected
    assert type(got) is int


@pytest.mark.parametrize(
    ("amount", "num", "den", "expected"),
    [
        (499000, 21, 30, 349300),
        (100, 1, 3, 33),
        (200, 1, 3, 67),
        (5, 1, 2, 3),
        (499000, 20, 30, 332667),
        (999000, 20, 30, 666000),
        (499000, 0, 30, 0),
        (499000, 30, 30, 499000),
    ],
)
def test_prorate_examples(amount: int, num: int, den: int, expected: int) -> None:
    assert prorate(amount, num, den) == expected


@pytest.mark.parametrize("den", [0, -1])
def test_prorate_rejects_non_positive_denominator(den: int) -> None:
    with pytest.raises(ValueError):
        prorate(100, 1, den)


@FAST
@given(amounts, st.integers(min_value=1, max_value=400))
def test_prorate_whole_period_is_the_amount(amount: int, days: int) -> None:
    assert prorate(amount, days, days) == amount


@FAST
@given(amounts, st.integers(min_value=1, max_value=400), st.data())
def test_prorate_bounded_and_monotone(amount: int, days: int, data: st.DataObject) -> None:
    r = data.draw(st.integers(min_value=0, max_value=days))
    got = prorate(amount, r, days)
    assert type(got) is int
    assert 0 <= got <= amount
    if r < days:
        assert prorate(amount, r + 1, days) >= got
    # within half a unit of the exact value
    assert abs(Fraction(got) - Fraction(amount * r, days)) <= Fraction(1, 2)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "Rp0"),
        (999, "Rp999"),
        (15000, "Rp15.000"),
        (1000000, "Rp1.000.000"),
        (-3500, "-Rp3.500"),
        (499000, "Rp499.000"),
    ],
)
def test_format_money_idr(amount: int, expected: str) -> None:
    assert format_money(amount, "IDR", "id") == expected


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (123456, "USD", "id", "US$1.234,56"),  # cents, written the Indonesian way
        (123456, "USD", "en", "US$1,234.56"),  # as the English pages write it (en_GB)
        (-5, "USD", "en", "-US$0.05"),
        (123456, "SGD", "id", "SGD1.234,56"),
        (1234, "AUD", "en", "A$12.34"),  # a currency the table does not list is counted in cents
    ],
)
def test_format_money_other_currencies(amount: int, currency: str, locale: str, expected: str) -> None:
    assert format_money(amount, currency, locale) == expected


def test_a_rate_rounds_half_up_to_the_unit() -> None:
    assert apply_rate_bps(150, 1100) == 17  # 16,5
    assert apply_rate_bps(149, 1100) == 16  # 16,39
    assert apply_rate_bps(-150, 1100) == -17  # a credit's tax, away from zero
    assert apply_rate_bps(0, 1100) == 0


@pytest.mark.parametrize(("text", "bps"), [("0", 0), ("11", 1100), ("11.5", 1150), (" 12 ", 1200), ("0.01", 1),
                                           ("12.00", 1200)])
def test_a_tax_rate_in_percent_becomes_basis_points(text: str, bps: int) -> None:
    assert parse_percent_to_bps(text) == bps


@pytest.mark.parametrize("text", ["11.505", "-1", "0.001"])
def test_a_tax_rate_finer_than_a_basis_point_or_negative_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="tax rate"):
        parse_percent_to_bps(text)
