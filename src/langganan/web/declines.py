"""What a failed payment or a gateway refusal says to a person, by langganan's code, in both languages.

Gateways answer in English (or not at all); the adapters map their codes to these (payments/xendit.py,
payments/midtrans.py, the sandbox's test cards), and pages and emails speak them in the account's language
instead of repeating the gateway's text. The sentences are the catalogs' "error.<code>" messages
(src/langganan/locale), the same the pages show for that code."""

from __future__ import annotations

from langganan.web.i18n import translator

CODES: frozenset[str] = frozenset({
    "card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "authentication_failed",
    "invalid_card_token", "amount_limit_exceeded", "processing_error", "expired", "payment_reversed",
    "gateway_unavailable", "gateway_refused", "gateway_bad_answer", "channel_not_activated", "rate_limited",
    "invalid_bank",
})


def message(code: str | None, locale: str, fallback: str | None = None) -> str | None:
    """The sentence for `code` in `locale` ("en" or "id"); `fallback` (the gateway's own text) when the code
    is not one of ours."""
    if code in CODES:
        return translator(locale)(f"error.{code}")
    return fallback
