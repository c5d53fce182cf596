"""Numbers and rupiah written as each page language writes them (Babel/CLDR grouping)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langganan.kit.locales import format_number
from langganan.kit.money import format_money
from langganan.web.i18n import translator


@pytest.mark.parametrize(("locale", "amount", "expected"), [
    ("id", 1_234_567, "Rp1.234.567"), ("en", 1_234_567, "Rp1,234,567"), ("id", 0, "Rp0"), ("en", 999, "Rp999"),
    ("id", -3_500, "-Rp3.500"), ("en", -3_500, "-Rp3,500"),
])
def test_rupiah_is_grouped_as_the_language_writes_it(locale: str, amount: int, expected: str) -> None:
    assert format_money(amount, "IDR", locale) == expected


def test_counts_follow_the_same_grouping_and_other_currencies_babels_pattern() -> None:
    assert (format_number(25_000, "id"), format_number(25_000, "en")) == ("25.000", "25,000")
    assert format_money(1_250, "USD", "en") == "US$12.50"
    assert format_money(1_250, "USD", "id") == "US$12,50"
    assert format_money(15_000, "IDR", "xx") == "Rp15,000"  # a language langganan does not speak: English


GROUPED = {"id": re.compile(r"-?Rp\d{1,3}(\.\d{3})*"), "en": re.compile(r"-?Rp\d{1,3}(,\d{3})*")}
AMOUNTS = st.integers(min_value=-10**18, max_value=10**18)


@given(AMOUNTS, st.sampled_from(["id", "en"]))
def test_the_digits_come_back_in_groups_of_three_with_the_sign_in_front(amount: int, locale: str) -> None:
    text = format_money(amount, "IDR", locale)
    assert GROUPED[locale].fullmatch(text), text
    assert text.startswith("-") == (amount < 0)
    assert int(re.sub(r"[^\d]", "", text)) == abs(amount)  # round trip: the digits are the amount's


@given(AMOUNTS)
def test_the_two_languages_differ_only_in_the_group_separator(amount: int) -> None:
    indonesian, english = format_money(amount, "IDR", "id"), format_money(amount, "IDR", "en")
    assert english.replace(",", ".") == indonesian
    negated = format_money(-amount, "IDR", "id")
    assert negated.lstrip("-") == indonesian.lstrip("-") and negated.startswith("-") == (amount > 0)


def test_zero_and_large_amounts() -> None:
    assert format_money(0, "IDR", "id") == format_money(0, "IDR", "en") == format_money(-0, "IDR", "en") == "Rp0"
    assert format_money(10**15, "IDR", "id") == "Rp1.000.000.000.000.000"
    assert format_money(-(10**15) - 1, "IDR", "en") == "-Rp1,000,000,000,000,001"


def test_an_unknown_error_code_is_the_generic_sentence_in_the_pages_language() -> None:
    en, id_ = translator("en"), translator("id")
    assert id_.error("card_declined") == "Kartu ditolak."
    assert id_.error("some_gateway_code") == id_("error.generic") != en("error.generic")
    assert en.error(None) == en("error.generic")
