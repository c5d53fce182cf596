"""The Midtrans adapter against a local fake Midtrans that checks requests field by field
(tests/gateways/fake_midtrans.py): what only Midtrans does, beyond the shared conformance tests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from langganan.kit.errors import Unprocessable
from langganan.payments.gateway import (
    GatewayRefused,
    GatewayUnavailable,
    InvalidCardToken,
    InvalidNotification,
    InvalidSignature,
    Outcome,
)
from langganan.payments.midtrans import MidtransGateway, card_token
from tests.gateways.driver import DECLINED_CARD, GOOD_CARD
from tests.gateways.midtrans_driver import MidtransDriver

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def mt() -> Iterator[MidtransDriver]:
    with MidtransDriver(clock=lambda: NOW, timeout=0.3, stall_seconds=0.6) as driver:
        yield driver


def _va(mt: MidtransDriver, ref: str, bank: str = "bca", amount: int = 499000,
        hours: int = 24) -> tuple[str, str | None]:
    va = mt.gateway.create_virtual_account(reference=ref, amount=amount, currency="IDR", bank=bank,
                                           expires_at=NOW + timedelta(hours=hours))
    return va.va_number, va.biller_code


def _charged(mt: MidtransDriver, ref: str, amount: int = 300000, number: str = GOOD_CARD) -> str:
    token = mt.saved_card(number, 12, 2030, now=NOW)
    result = mt.gateway.charge(token=token, amount=amount, currency="IDR", idempotency_key=ref, description="t")
    assert result.succeeded, result
    return token


# -- requests as Midtrans documents them ------------------------------------------------------------------
def test_the_fake_refuses_requests_midtrans_would_refuse(mt: MidtransDriver) -> None:
    """An adapter bug in a field fails against the fake: amounts must be integers, Mandiri is not a
    bank_transfer bank, custom_expiry has its own format, unknown fields are refused."""
    client = httpx.Client(base_url=mt.fake.url, auth=(mt.fake.server_key, ""))
    base = {"payment_type": "bank_transfer", "transaction_details": {"order_id": "pay_x", "gross_amount": 1000},
            "bank_transfer": {"bank": "bca"}}
    bad = [
        {**base, "transaction_details": {"order_id": "pay_x", "gross_amount": "1000"}},
        {**base, "transaction_details": {"order_id": "pay_x", "gross_amount": 1000.0}},
        {**base, "bank_transfer": {"bank": "mandiri"}},
        {**base, "custom_expiry": {"order_time": "2026-11-22T10:00:00+07:00", "expiry_duration": 1, "unit": "day"}},
        {**base, "custom_expiry": {"order_time": "2026-11-22 10:00:00 +0700", "expiry_duration": 1, "unit": "week"}},
        {**base, "customexpiry": {"expiry_duration": 1, "unit": "day"}},
        {**base, "payment_type": "echannel", "echannel": {"bill_info1": "Payment for", "bill_info2": "x"}},
    ]
    for body in bad:
        answer = client.post("/v2/charge", json=body)
        assert answer.json()["status_code"] == "400", body
    assert client.post("/v2/charge", json=base).json()["status_code"] == "201"
    wrong_key = httpx.post(f"{mt.fake.url}/v2/charge", json=base, auth=("SB-Mid-server-other", ""))
    assert wrong_key.status_code == 401 and mt.fake.transactions["pay_x"].status == "pending"
    client.close()


def test_bank_transfer_request_fields_and_custom_expiry(mt: MidtransDriver) -> None:
    number, biller = _va(mt, "pay_bca_1", "bca", hours=24)
    sent = mt.fake.last_body("/v2/charge")
    assert sent == {"payment_type": "bank_transfer", "bank_transfer": {"bank": "bca"},
                    "transaction_details": {"order_id": "pay_bca_1", "gross_amount": 499000},
                    "custom_expiry": {"order_time": "2026-11-22 10:00:00 +0700", "expiry_duration": 1, "unit": "day"}}
    txn = mt.fake.transactions["pay_bca_1"]
    assert (number, biller, txn.expiry_time) == (txn.va_number, None, "2026-11-23 10:00:00")
    mt.gateway.create_qris(reference="pay_qr_90", amount=1000, currency="IDR", expires_at=NOW + timedelta(seconds=90))
    assert mt.fake.last_body("/v2/charge")["custom_expiry"] == {"order_time": "2026-11-22 10:00:00 +0700",
                                                              "expiry_duration": 90, "unit": "second"}
    assert mt.fake.last_body("/v2/charge")["qris"] == {"acquirer": "gopay"}


def test_mandiri_is_a_bill_payment_with_biller_code_and_permata_has_its_own_field(mt: MidtransDriver) -> None:
    number, biller = _va(mt, "pay_mandiri_1", "mandiri")
    sent = mt.fake.last_body("/v2/charge")
    assert sent["payment_type"] == "echannel" and "bank_transfer" not in sent
    assert sent["echannel"]["bill_info1"] and sent["echannel"]["bill_info2"] == "pay_mandiri_1"
    txn = mt.fake.transactions["pay_mandiri_1"]
    assert (number, biller) == (txn.bill_key, "70012")
    permata, _ = _va(mt, "pay_permata_1", "permata")
    assert permata == mt.fake.transactions["pay_permata_1"].va_number
    with pytest.raises(Unprocessable) as err:
        _va(mt, "pay_bsi_1", "bsi")
    assert err.value.code == "invalid_bank"
    with pytest.raises(Unprocessable) as err:
        mt.gateway.create_virtual_account(reference="pay_usd", amount=10, currency="USD", bank="bca",
                                          expires_at=NOW + timedelta(hours=1))
    assert err.value.code == "unsupported_currency"


def test_same_order_id_twice_gives_the_same_account_and_another_bank_is_refused(mt: MidtransDriver) -> None:
    first, _ = _va(mt, "pay_twice", "bni", hours=24)
    again = mt.gateway.create_virtual_account(reference="pay_twice", amount=499000, currency="IDR", bank="bni",
                                              expires_at=NOW + timedelta(hours=48))
    assert again.va_number == first and len(mt.fake.transactions) == 1
    assert again.expires_at == NOW + timedelta(hours=24)  # the account Midtrans has, with its own expiry
    with pytest.raises(GatewayRefused) as err:
        _va(mt, "pay_twice", "bri")
    assert err.value.code == "duplicate_order_id"
    mt.fake.expire("pay_twice")
    with pytest.raises(GatewayRefused) as err:  # never hand out a lapsed account again
        _va(mt, "pay_twice", "bni")
    assert err.value.code == "duplicate_order_id" and "expire" in err.value.message


# -- notifications --------------------------------------------------------------------------------------
def test_signature_is_sha512_of_order_status_amount_and_server_key(mt: MidtransDriver) -> None:
    _va(mt, "pay_sig_1")
    mt.fake.settle("pay_sig_1")
    # The documented formula, computed here by hand (not by the adapter or the fake).
    text = "pay_sig_1" + "200" + "499000.00" + "SB-Mid-server-fake-key"
    signature = hashlib.sha512(text.encode()).hexdigest()
    assert len(signature) == 128
    body = {"order_id": "pay_sig_1", "status_code": "200", "gross_amount": "499000.00", "signature_key": signature,
            "transaction_status": "settlement"}
    note = mt.gateway.verify_notification(JSON, json.dumps(body).encode(), NOW)
    assert (note.outcome, note.amount, note.reference) == (Outcome.PAID, 499000, "pay_sig_1")
    reordered = hashlib.sha512(("SB-Mid-server-fake-key" + "pay_sig_1" + "200" + "499000.00").encode()).hexdigest()
    for wrong in (reordered, signature[:-1] + ("0" if signature[-1] != "0" else "1"), ""):
        with pytest.raises(InvalidSignature):
            mt.gateway.verify_notification(JSON, json.dumps({**body, "signature_key": wrong}).encode(), NOW)
    for unsigned in (b"not json", b"[]", json.dumps({k: v for k, v in body.items() if k != "signature_key"}).encode(),
                     json.dumps({**body, "gross_amount": 499000}).encode()):
        with pytest.raises(InvalidSignature):
            mt.gateway.verify_notification(JSON, unsigned, NOW)
    with pytest.raises(InvalidSignature):  # Midtrans posts JSON
        mt.gateway.verify_notification({"Content-Type": "text/plain"}, json.dumps(body).encode(), NOW)


def test_a_signed_notification_is_confirmed_by_the_status_api(mt: MidtransDriver) -> None:
    """Only three fields are signed: a notification claiming settlement for a transaction Midtrans still
    has as pending is PENDING (the status answer decides), and nothing is taken from the posted body."""
    number, _ = _va(mt, "pay_confirm")
    claim = mt.fake.notification("pay_confirm", claim="settlement")
    note = mt.gateway.verify_notification(*claim, NOW)
    assert note.outcome == Outcome.PENDING and note.va_number == number
    assert mt.fake.count("GET", "/v2/pay_confirm/status") == 1
    headers, body = mt.fake.notification("pay_confirm")
    posted = json.loads(body) | {"va_numbers": [{"bank": "bca", "va_number": "999"}], "currency": "USD"}
    note = mt.gateway.verify_notification(headers, json.dumps(posted).encode(), NOW)
    assert (note.va_number, note.currency) == (number, "IDR")


def test_repeats_are_one_event_settlement_then_deny_two(mt: MidtransDriver) -> None:
    number, _ = _va(mt, "pay_events")
    pending = mt.gateway.verify_notification(*mt.fake.notification("pay_events"), NOW)
    mt.fake.settle("pay_events")
    paid = mt.gateway.verify_notification(*mt.fake.notification("pay_events"), NOW)
    again = mt.gateway.verify_notification(*mt.fake.notification("pay_events"), NOW)
    assert (paid.outcome, paid.va_number, paid.provider_ref) == (Outcome.PAID, number,
                                                                 mt.fake.transactions["pay_events"].transaction_id)
    assert again.event_id == paid.event_id != pending.event_id
    mt.fake.deny("pay_events")  # the bank reverses the transfer
    denied = mt.gateway.verify_notification(*mt.fake.notification("pay_events"), NOW)
    # Documented rule: deny after settlement is FAILED; the service treats FAILED on a paid payment as a reversal.
    assert denied.outcome == Outcome.FAILED and denied.failure_code == "payment_denied"
    assert denied.event_id not in (paid.event_id, pending.event_id)


def test_expiry_and_status_checks(mt: MidtransDriver) -> None:
    _va(mt, "pay_lapse")
    assert mt.gateway.status("pay_lapse").outcome == Outcome.PENDING  # type: ignore[union-attr]
    callback = mt.expire(reference="pay_lapse", wall_now=NOW)
    assert callback is not None and json.loads(callback[1])["status_code"] == "407"
    note = mt.gateway.verify_notification(*callback, NOW)
    assert (note.outcome, note.amount) == (Outcome.EXPIRED, 499000)
    assert mt.gateway.status("pay_lapse").event_id == note.event_id  # type: ignore[union-attr]
    assert mt.gateway.status("pay_unknown") is None


def test_fractional_rupiah_is_refused(mt: MidtransDriver) -> None:
    _va(mt, "pay_sen")
    mt.fake.settle("pay_sen")
    mt.fake.transactions["pay_sen"].gross_text = "499000.50"
    with pytest.raises(InvalidNotification):
        mt.gateway.verify_notification(*mt.fake.notification("pay_sen"), NOW)


# -- cards -------------------------------------------------------------------------------------------------
def test_card_tokens(mt: MidtransDriver) -> None:
    token = mt.saved_card("5555555555554444", 3, 2031, now=NOW)
    card = mt.gateway.card_details(token)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("mastercard", "4444", 3, 2031)
    saved = token.split("|")[0]
    assert saved.startswith("555555") and token == card_token(saved, 3, 2031)
    for bad in ("", saved, f"{saved}|03|2031", token.replace("|03|", "|04|"), token.upper(), token + "0",
                card_token(saved, 3, 2031).replace(saved, saved[:-1] + "5"), "tok_sandbox_x.y"):
        with pytest.raises(InvalidCardToken):
            mt.gateway.card_details(bad)
    with pytest.raises(InvalidCardToken):
        mt.gateway.charge(token="junk", amount=1000, currency="IDR", idempotency_key="pay_junk", description="t")
    assert mt.fake.count("POST", "/v2/charge") == 0


def test_card_charge_request_and_outcomes(mt: MidtransDriver) -> None:
    token = _charged(mt, "pay_card_1", 250000)
    assert mt.fake.last_body("/v2/charge") == {"payment_type": "credit_card",
                                               "transaction_details": {"order_id": "pay_card_1",
                                                                       "gross_amount": 250000},
                                               "credit_card": {"token_id": token.split("|")[0]}}
    declined = mt.gateway.charge(token=mt.saved_card(DECLINED_CARD, 12, 2030, now=NOW), amount=1000,
                                 currency="IDR", idempotency_key="pay_card_2", description="t")
    assert (declined.succeeded, declined.pending, declined.failure_code) == (False, False, "card_declined")
    assert declined.failure_message and "Do not honour" in declined.failure_message
    for number in ("4511111111111117", "4611111111111116"):  # fraud challenge, 3-D Secure
        result = mt.gateway.charge(token=mt.saved_card(number, 12, 2030, now=NOW), amount=1000, currency="IDR",
                                   idempotency_key=f"pay_card_{number[:4]}", description="t")
        assert result.pending and not result.succeeded
    unknown = card_token("481111" + "A" * 22 + "1114", 12, 2030)  # well formed, but Midtrans never saved it
    gone = mt.gateway.charge(token=unknown, amount=1000, currency="IDR", idempotency_key="pay_card_3", description="t")
    assert (gone.succeeded, gone.failure_code) == (False, "card_token_invalid")
    assert mt.fake.captures == 1


def test_a_challenged_card_payment_then_accepted_is_two_events(mt: MidtransDriver) -> None:
    token = mt.saved_card("4511111111111117", 12, 2030, now=NOW)
    result = mt.gateway.charge(token=token, amount=1000, currency="IDR", idempotency_key="pay_fds", description="t")
    assert result.pending and mt.fake.captures == 0
    challenged = mt.gateway.verify_notification(*mt.fake.notification("pay_fds"), NOW)
    mt.fake.accept_challenge("pay_fds")
    accepted = mt.gateway.verify_notification(*mt.fake.notification("pay_fds"), NOW)
    assert (challenged.outcome, accepted.outcome) == (Outcome.PENDING, Outcome.PAID)
    assert challenged.event_id != accepted.event_id


def test_a_repeated_charge_reports_the_first_and_takes_nothing_more(mt: MidtransDriver) -> None:
    token = _charged(mt, "pay_dup")
    again = mt.gateway.charge(token=token, amount=300000, currency="IDR", idempotency_key="pay_dup", description="t")
    assert again.succeeded and again.provider_ref == mt.fake.transactions["pay_dup"].transaction_id
    assert mt.fake.captures == 1 and mt.fake.count("GET", "/v2/pay_dup/status") == 1


def test_a_charge_saved_card_comes_with_the_notification(mt: MidtransDriver) -> None:
    _charged(mt, "pay_save")
    mt.fake.transactions["pay_save"].saved_token_expires = "2031-08-31 07:00:00"
    note = mt.gateway.status("pay_save")
    assert note is not None and note.outcome == Outcome.PAID and note.saved_card is not None
    assert (note.saved_card.card.last4, note.saved_card.card.exp_month, note.saved_card.card.exp_year) == \
        (GOOD_CARD[-4:], 8, 2031)
    assert mt.gateway.card_details(note.saved_card.token) == note.saved_card.card


# -- refunds ------------------------------------------------------------------------------------------------
def test_partial_then_full_refund_and_their_notifications(mt: MidtransDriver) -> None:
    _charged(mt, "pay_rf", 300000)
    first = mt.gateway.refund(reference="pay_rf", provider_ref="x", amount=100000, currency="IDR",
                              idempotency_key="rf_1", reason="partial")
    assert first.succeeded and mt.fake.last_body("/v2/pay_rf/refund") == {"refund_key": "rf_1", "amount": 100000,
                                                                          "reason": "partial"}
    partial = mt.gateway.verify_notification(*mt.fake.notification("pay_rf"), NOW)
    assert (partial.outcome, partial.amount) == (Outcome.REFUNDED, 100000)
    repeat = mt.gateway.refund(reference="pay_rf", provider_ref="x", amount=100000, currency="IDR",
                               idempotency_key="rf_1", reason="partial")
    assert repeat.provider_ref == first.provider_ref and len(mt.fake.refunds("pay_rf")) == 1
    second = mt.gateway.refund(reference="pay_rf", provider_ref="x", amount=50000, currency="IDR",
                               idempotency_key="rf_2", reason="partial again")
    assert second.succeeded and second.provider_ref != first.provider_ref
    partial2 = mt.gateway.verify_notification(*mt.fake.notification("pay_rf"), NOW)
    assert (partial2.outcome, partial2.amount) == (Outcome.REFUNDED, 50000) and partial2.event_id != partial.event_id
    rest = mt.gateway.refund(reference="pay_rf", provider_ref="x", amount=150000, currency="IDR",
                             idempotency_key="rf_3", reason="the rest")
    assert rest.succeeded and mt.fake.transactions["pay_rf"].status == "refund"
    full = mt.gateway.verify_notification(*mt.fake.notification("pay_rf"), NOW)
    assert (full.outcome, full.amount) == (Outcome.REFUNDED, 150000)
    assert full.event_id not in (partial.event_id, partial2.event_id)
    with pytest.raises(GatewayRefused) as err:  # nothing left
        mt.gateway.refund(reference="pay_rf", provider_ref="x", amount=1000, currency="IDR", idempotency_key="rf_4",
                          reason="more")
    assert err.value.code == "refund_not_allowed"


def test_a_bank_transfer_cannot_be_refunded_through_midtrans(mt: MidtransDriver) -> None:
    _va(mt, "pay_va_rf")
    mt.fake.settle("pay_va_rf")
    with pytest.raises(GatewayRefused) as err:
        mt.gateway.refund(reference="pay_va_rf", provider_ref="x", amount=1000, currency="IDR",
                          idempotency_key="rf_va", reason="r")
    assert err.value.code == "refund_not_allowed" and err.value.status == 502 and "412" in err.value.message
    with pytest.raises(GatewayRefused) as err:
        mt.gateway.refund(reference="pay_nothing", provider_ref="x", amount=1000, currency="IDR",
                          idempotency_key="rf_none", reason="r")
    assert err.value.code == "transaction_not_found"


# -- faults -------------------------------------------------------------------------------------------------
def test_timeouts_are_retried_once_then_unavailable(mt: MidtransDriver) -> None:
    token = mt.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    mt.fake.fail_next(2, "timeout", "/v2/charge")
    with pytest.raises(GatewayUnavailable):
        mt.gateway.charge(token=token, amount=1000, currency="IDR", idempotency_key="pay_slow", description="t")
    assert mt.fake.count("POST", "/v2/charge") == 2 and mt.fake.captures == 0  # one retry, never a third call
    mt.fake.fail_next(2, "http_500", "/v2/pay_slow/refund")
    with pytest.raises(GatewayUnavailable):
        mt.gateway.refund(reference="pay_slow", provider_ref="x", amount=1000, currency="IDR",
                          idempotency_key="rf_slow", reason="r")
    assert mt.fake.count("POST", "/v2/pay_slow/refund") == 2


def test_a_lost_charge_answer_is_recovered_without_a_second_capture(mt: MidtransDriver) -> None:
    """Midtrans took the money but its answer never arrived: the retry meets 406 (duplicate order id) and
    reads the status, so the card is charged once and the charge is reported as taken."""
    token = mt.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    mt.fake.fail_next(1, "timeout_after", "/v2/charge")
    result = mt.gateway.charge(token=token, amount=1000, currency="IDR", idempotency_key="pay_lost", description="t")
    assert result.succeeded and result.provider_ref == mt.fake.transactions["pay_lost"].transaction_id
    assert mt.fake.captures == 1 and mt.fake.count("POST", "/v2/charge") == 2
    assert mt.fake.count("GET", "/v2/pay_lost/status") == 1


def test_server_errors_in_the_body_or_the_status_line(mt: MidtransDriver) -> None:
    _va(mt, "pay_5xx")
    mt.fake.fail_next(1, "body_500", "/v2/pay_5xx/status")  # HTTP 200, status_code "500"
    assert mt.gateway.status("pay_5xx") is not None
    assert mt.fake.count("GET", "/v2/pay_5xx/status") == 2
    mt.fake.fail_next(2, "http_500", "/v2/pay_5xx/status")
    with pytest.raises(GatewayUnavailable):
        mt.gateway.status("pay_5xx")
    mt.fake.fail_next(2, "body_500", "/v2/pay_5xx/status")
    with pytest.raises(GatewayUnavailable):  # Midtrans is not answering: the notification is retried later
        mt.gateway.verify_notification(*mt.fake.notification("pay_5xx"), NOW)


def test_client_errors_are_refused_with_a_code(mt: MidtransDriver) -> None:
    wrong = MidtransGateway("SB-Mid-server-wrong", mt.fake.url, timeout=0.3, clock=lambda: NOW)
    with pytest.raises(GatewayRefused) as err:
        wrong.create_virtual_account(reference="pay_key", amount=1000, currency="IDR", bank="bca",
                                     expires_at=NOW + timedelta(hours=1))
    assert err.value.code == "gateway_auth_failed" and "LANGGANAN_MIDTRANS_SERVER_KEY" in err.value.message
    assert mt.fake.count("POST", "/v2/charge") == 1  # a 4xx is not retried
    wrong.close()
    with pytest.raises(Unprocessable) as bad:
        mt.gateway.create_virtual_account(reference="pay key!", amount=1000, currency="IDR", bank="bca",
                                          expires_at=NOW + timedelta(hours=1))
    assert bad.value.code == "invalid_reference"
    with pytest.raises(Unprocessable):  # already lapsed: Midtrans wants at least 20 seconds
        mt.gateway.create_qris(reference="pay_late", amount=1000, currency="IDR", expires_at=NOW)
