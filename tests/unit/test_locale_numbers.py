"""Numbers and rupiah written as each page language writes them (Babel/CLDR grouping)."""

from __future__ import annotations

import pytest

from langganan.kit.locales import format_number
from langganan.kit.money import format_amount, format_money
from langganan.web.i18n import translator


@pytest.mark.parametrize(("locale", "amount", "expected"), [
    ("id", 1_234_567, "Rp1.234.567"), ("en", 1_234_567, "Rp1,234,567"), ("id", 0, "Rp0"), ("en", 999, "Rp999"),
    ("id", -3_500, "-Rp3.500"), ("en", -3_500, "-Rp3,500"),
])
def test_rupiah_is_grouped_as_the_language_writes_it(locale: str, amount: int, expected: str) -> None:
    assert format_amount(amount, "IDR", locale) == expected


def test_counts_follow_the_same_grouping_and_the_seed_format_stays_for_texts_without_a_locale() -> None:
    assert (format_number(25_000, "id"), format_number(25_000, "en")) == ("25.000", "25,000")
    assert format_money(15_000, "IDR", "en") == "Rp15.000"
    assert format_amount(1_250, "USD", "en") == "US$12.50"


def test_an_unknown_error_code_is_the_generic_sentence_in_the_pages_language() -> None:
    en, id_ = translator("en"), translator("id")
    assert id_.error("card_declined") == "Kartu ditolak."
    assert id_.error("some_gateway_code") == id_("error.generic") != en("error.generic")
    assert en.error(None) == en("error.generic")
