"""Every failure and refusal code the gateway adapters give a customer's payment has a sentence in both
languages (web/declines.py, the catalogs' "error.<code>"), so an Indonesian page or feed never repeats the
gateway's English text."""

from __future__ import annotations

from langganan.payments import midtrans, xendit
from langganan.web import declines
from langganan.web.i18n import translator

OPERATORS_ONLY = ("refund", "not_refundable")  # refunds are an operator's action (console), not a customer's


def customer_codes() -> set[str]:
    codes = {code for code, _text in xendit.FAILURES.values()} | {code for code, _text in xendit.REFUSALS.values()}
    codes |= {code for code, _text in midtrans.REFUSALS.values()}
    codes |= {"payment_denied", "payment_canceled", "payment_failed"}  # Midtrans' deny, cancel and failure states
    return {c for c in codes if not c.startswith(OPERATORS_ONLY)}


def test_each_code_a_customer_can_meet_is_said_in_both_languages() -> None:
    english, indonesian = translator("en"), translator("id")
    missing = sorted(c for c in customer_codes() if indonesian.error(c) == indonesian("error.generic"))
    assert missing == []
    for code in customer_codes():
        assert indonesian.error(code) != english.error(code), code


def test_the_declines_table_has_both_languages_and_a_known_code_never_falls_back_to_the_gateway() -> None:
    english, indonesian = translator("en"), translator("id")
    for code in declines.CODES:
        en, id_ = english(f"error.{code}"), indonesian(f"error.{code}")
        assert english.has(f"error.{code}") and en and id_ and en != id_, code
        assert declines.message(code, "id", fallback="The gateway said no") == id_
        assert declines.message(code, "en", fallback="The gateway said no") == en
    assert declines.message("something_else", "id", fallback="The gateway said no") == "The gateway said no"
