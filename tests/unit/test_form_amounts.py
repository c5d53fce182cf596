"""Amounts typed into the portal's and the console's forms: what the pages write (in either language) is read
back as the same rupiah, and nothing ambiguous is guessed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langganan.kit.money import format_money
from langganan.web.forms import rupiah


@given(st.integers(min_value=0, max_value=10**14), st.sampled_from(["en", "id"]))
def test_what_a_page_writes_is_read_back(amount: int, locale: str) -> None:
    assert rupiah(format_money(amount, "IDR", locale), 15) == amount


@pytest.mark.parametrize(("typed", "value"), [
    ("50000", 50_000), ("50.000", 50_000), ("50,000", 50_000), ("50 000", 50_000), (" Rp 1.250.000 ", 1_250_000),
    ("rp50,000", 50_000), ("0", 0), ("999", 999),
])
def test_people_write_rupiah_in_either_language(typed: str, value: int) -> None:
    assert rupiah(typed, 15) == value


@pytest.mark.parametrize("typed", [
    "", "Rp", "1.5", "1,5", "5,0000", "1.000,00", "1,000.00", "1.000,000", ",000", "1000.000", "-5000", "+5000",
    "5e3", "²", "５０", "1 000.000", "12345678901234567",
])
def test_anything_else_is_refused_not_guessed(typed: str) -> None:
    assert rupiah(typed, 15) is None
