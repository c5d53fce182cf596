"""What a failed payment or a gateway refusal says to a person, by langganan's code, in both languages.

Gateways answer in English (or not at all); the adapters map their codes to these (payments/xendit.py,
payments/midtrans.py, the sandbox's test cards), and pages and emails speak them in the account's language
instead of repeating the gateway's text."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {  # code: (English, Bahasa Indonesia)
    "card_declined": ("The card was declined.", "Kartu ditolak."),
    "insufficient_funds": ("The card has insufficient funds.", "Dana kartu tidak cukup."),
    "expired_card": ("The card has expired.", "Kartu sudah kedaluwarsa."),
    "incorrect_cvc": ("The card's security code is wrong.", "Kode keamanan kartu salah."),
    "authentication_failed": ("The cardholder did not pass authentication (3-D Secure).",
                              "Pemegang kartu tidak lolos autentikasi (3-D Secure)."),
    "invalid_card_token": ("The saved card is no longer valid; add the card again.",
                           "Kartu tersimpan tidak berlaku lagi; tambahkan kartu kembali."),
    "amount_limit_exceeded": ("The amount is over the card's limit.", "Jumlahnya melebihi batas kartu."),
    "processing_error": ("The card processor had an error; try again later.",
                         "Terjadi gangguan di pemroses kartu; coba lagi nanti."),
    "expired": ("The payment expired before it was completed.", "Pembayaran kedaluwarsa sebelum selesai."),
    "payment_reversed": ("The payment provider took the payment back.",
                         "Penyedia pembayaran menarik kembali pembayaran."),
    "gateway_unavailable": ("The payment provider is not answering; try again shortly.",
                            "Penyedia pembayaran tidak merespons; coba lagi sebentar lagi."),
    "gateway_refused": ("The payment provider refused the request.", "Penyedia pembayaran menolak permintaan."),
    "gateway_bad_answer": ("The payment provider answered something unexpected; try again later.",
                           "Penyedia pembayaran memberi jawaban yang tidak terduga; coba lagi nanti."),
    "channel_not_activated": ("This payment method is not available right now. Choose another.",
                              "Metode pembayaran ini sedang tidak tersedia. Pilih yang lain."),
    "rate_limited": ("Too many payment attempts right now; try again in a minute.",
                     "Terlalu banyak percobaan pembayaran saat ini; coba lagi sebentar lagi."),
    "invalid_bank": ("Choose one of the listed banks.", "Pilih salah satu bank yang tersedia."),
    # Midtrans' transaction states and the adapters' own refusal codes (payments/midtrans.py, payments/xendit.py)
    "payment_denied": ("The payment was denied by the bank or the payment provider.",
                       "Pembayaran ditolak oleh bank atau penyedia pembayaran."),
    "payment_canceled": ("The payment was canceled before it was completed.",
                         "Pembayaran dibatalkan sebelum selesai."),
    "payment_failed": ("The payment did not go through.", "Pembayaran tidak berhasil."),
    "card_token_invalid": ("The saved card is no longer valid; add the card again.",
                           "Kartu tersimpan tidak berlaku lagi; tambahkan kartu kembali."),
    "payment_method_not_enabled": ("This payment method is not available right now. Choose another.",
                                   "Metode pembayaran ini sedang tidak tersedia. Pilih yang lain."),
    "invalid_request": ("The payment provider refused the request.", "Penyedia pembayaran menolak permintaan."),
    "duplicate_request": ("The payment provider already has this payment; check the invoice before paying again.",
                          "Penyedia pembayaran sudah mencatat pembayaran ini; periksa invoice sebelum membayar lagi."),
    "duplicate_order_id": ("The payment provider already has this payment; check the invoice before paying again.",
                           "Penyedia pembayaran sudah mencatat pembayaran ini; periksa invoice sebelum membayar lagi."),
    "transaction_not_found": ("The payment provider does not know this payment; start the payment again.",
                              "Penyedia pembayaran tidak mengenali pembayaran ini; mulai pembayaran lagi."),
    "unsupported_currency": ("The payment provider does not take this currency.",
                             "Penyedia pembayaran tidak menerima mata uang ini."),
    # the gateway account itself (the operator's to fix): the customer is told to try later or another way
    "gateway_account_inactive": ("Payments are not available right now; try again later or pay by transfer.",
                                 "Pembayaran sedang tidak tersedia; coba lagi nanti atau bayar dengan transfer."),
    "gateway_auth_failed": ("Payments are not available right now; try again later or pay by transfer.",
                            "Pembayaran sedang tidak tersedia; coba lagi nanti atau bayar dengan transfer."),
    "gateway_credentials": ("Payments are not available right now; try again later or pay by transfer.",
                            "Pembayaran sedang tidak tersedia; coba lagi nanti atau bayar dengan transfer."),
    "gateway_balance": ("Payments are not available right now; try again later or pay by transfer.",
                        "Pembayaran sedang tidak tersedia; coba lagi nanti atau bayar dengan transfer."),
    "gateway_rejected_request": ("The payment provider refused the request.",
                                 "Penyedia pembayaran menolak permintaan."),
    "gateway_rate_limited": ("Too many payment attempts right now; try again in a minute.",
                             "Terlalu banyak percobaan pembayaran saat ini; coba lagi sebentar lagi."),
}


def message(code: str | None, locale: str, fallback: str | None = None) -> str | None:
    """The sentence for `code` in `locale` ("en" or "id"); `fallback` (the gateway's own text) when the code
    is not one of ours."""
    if code in MESSAGES:
        english, indonesian = MESSAGES[code]
        return indonesian if locale == "id" else english
    return fallback
