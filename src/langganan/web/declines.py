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
    # Midtrans' transaction states and the adapters' own refusal codes (payments/midtrans.py, payments/xendit.py)
    "payment_denied", "payment_canceled", "payment_failed", "card_token_invalid", "payment_method_not_enabled",
    "invalid_request", "duplicate_request", "duplicate_order_id", "transaction_not_found", "unsupported_currency",
    # the gateway account itself (the operator's to fix): the customer is told to try later or another way
    "gateway_account_inactive", "gateway_auth_failed", "gateway_credentials", "gateway_balance",
    "gateway_rejected_request", "gateway_rate_limited",
})


def message(code: str | None, locale: str, fallback: str | None = None) -> str | None:
    """The sentence for `code` in `locale` ("en" or "id"); `fallback` (the gateway's own text) when the code
    is not one of ours."""
    if code in CODES:
        return translator(locale)(f"error.{code}")
    return fallback
