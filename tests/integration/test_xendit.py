"""The Xendit adapter against a local fake Xendit that checks every request field by field
(tests/gateways/fake_xendit.py): what it sends, how it reads callbacks, retries and refusals."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from langganan.payments.gateway import (
    GatewayRefused,
    GatewayUnavailable,
    InvalidCardToken,
    InvalidNotification,
    InvalidSignature,
    Outcome,
)
from langganan.payments.xendit import XenditGateway
from tests.gateways.driver import DECLINED_CARD, GOOD_CARD
from tests.gateways.fake_xendit import API_VERSION
from tests.gateways.xendit_driver import CALLBACK_TOKEN, SECRET_KEY, XenditDriver

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(hours=24)


@pytest.fixture
def xd() -> Iterator[XenditDriver]:
    with XenditDriver(timeout=1.0, fault_sleep=2.0) as driver:
        yield driver


def _va(xd: XenditDriver, reference: str, amount: int = 499000, bank: str = "bca") -> str:
    return xd.gateway.create_virtual_account(reference=reference, amount=amount, currency="IDR", bank=bank,
                                             expires_at=EXPIRES).va_number


# -- what langganan sends ------------------------------------------------------------------------------
def test_virtual_account_request_fields_and_headers(xd: XenditDriver) -> None:
    va = xd.gateway.create_virtual_account(reference="pay_va_1", amount=499000, currency="IDR", bank="mandiri",
                                           expires_at=EXPIRES)
    [call] = xd.fake.calls
    assert (call.method, call.path) == ("POST", "/v3/payment_requests")
    assert call.headers["authorization"] == "Basic " + base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    assert call.headers["api-version"] == API_VERSION == "2024-11-11"
    assert call.headers["idempotency-key"] == "pay_va_1"
    assert call.body == {"reference_id": "pay_va_1", "type": "PAY", "country": "ID", "currency": "IDR",
                         "request_amount": 499000, "channel_code": "MANDIRI_VIRTUAL_ACCOUNT",
                         "channel_properties": {"display_name": "Langganan", "expires_at": "2026-11-23T03:00:00.000Z"}}
    pr = xd.fake.by_reference("pay_va_1")
    assert (va.provider_ref, va.va_number, va.expires_at) == (pr["payment_request_id"], pr["actions"][0]["value"],
                                                              EXPIRES)


def test_qris_and_card_charge_request_fields(xd: XenditDriver) -> None:
    qr = xd.gateway.create_qris(reference="pay_qr", amount=150000, currency="IDR", expires_at=NOW + timedelta(hours=1))
    assert qr.qr_string.startswith("000201") and qr.provider_ref.startswith("pr-")
    token = xd.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    result = xd.gateway.charge(token=token, amount=300000, currency="IDR", idempotency_key="pay_card_1",
                               description="invoice inv_1")
    qr_call, card_call = [c for c in xd.fake.calls if c.method == "POST"]
    assert qr_call.body["channel_code"] == "QRIS"
    assert qr_call.body["channel_properties"] == {"expires_at": "2026-11-22T04:00:00.000Z"}
    assert card_call.headers["idempotency-key"] == "pay_card_1"
    assert card_call.body == {"reference_id": "pay_card_1", "type": "PAY", "country": "ID", "currency": "IDR",
                              "request_amount": 300000, "capture_method": "AUTOMATIC", "channel_code": "CARDS",
                              "payment_token_id": token, "channel_properties": {"card_on_file_type": "RECURRING"},
                              "description": "invoice inv_1"}
    assert result.succeeded and result.provider_ref == xd.fake.by_reference("pay_card_1")["payment_request_id"]


def test_the_fake_refuses_what_xendit_refuses(xd: XenditDriver) -> None:
    """The fake is strict, so an adapter that drops a header or a field fails here, not in production."""
    good = {"reference_id": "r1", "type": "PAY", "country": "ID", "currency": "IDR", "request_amount": 20000,
            "channel_code": "BNI_VIRTUAL_ACCOUNT",
            "channel_properties": {"display_name": "x", "expires_at": "2026-11-23T03:00:00Z"}}
    auth = (SECRET_KEY, "")
    base = {"api-version": API_VERSION, "idempotency-key": "k1"}
    with httpx.Client(base_url=xd.fake.url) as raw:
        def post(body: object, headers: dict[str, str] = base, key: tuple[str, str] = auth) -> httpx.Response:
            return raw.post("/v3/payment_requests", json=body, headers=headers, auth=key)

        assert post(good, key=("xnd_wrong", "")).status_code == 401
        assert post(good, headers={"idempotency-key": "k1"}).json()["error_code"] == "API_VALIDATION_ERROR"
        assert post(good, headers={"api-version": API_VERSION}).status_code == 400  # no idempotency-key
        for broken in ({**good, "request_amount": 20000.5}, {**good, "channel_code": "BNI"}, {**good, "typ": "PAY"},
                       {**good, "channel_properties": {"expires_at": "tomorrow", "display_name": "x"}},
                       {k: v for k, v in good.items() if k != "reference_id"}):
            assert post(broken).status_code == 400, broken
        first = post(good)
        assert first.status_code == 201
        assert post(good).json() == first.json()  # the same key and body: the first answer again
        assert post({**good, "request_amount": 30000}).status_code == 409  # the same key, another body
    assert len(xd.fake.state.payment_requests) == 1


def test_unknown_bank_is_refused_before_any_call(xd: XenditDriver) -> None:
    with pytest.raises(Exception) as caught:
        _va(xd, "pay_nobank", bank="cimb")
    assert getattr(caught.value, "code", None) == "invalid_bank" and xd.fake.calls == []


# -- cards ------------------------------------------------------------------------------------------
def test_card_details_from_the_payment_token(xd: XenditDriver) -> None:
    visa = xd.saved_card(GOOD_CARD, 7, 2031, now=NOW)
    master = xd.saved_card("5555555555554444", 1, 2029, now=NOW)
    card = xd.gateway.card_details(visa)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 7, 2031)
    assert xd.gateway.card_details(master).brand == "mastercard"
    assert xd.fake.calls[-1].path == f"/v3/payment_tokens/{master}"
    expired = xd.fake.save_card(GOOD_CARD, 7, 2031, status="EXPIRED")
    for bad in (expired, "pt-00000000-0000-0000-0000-000000000000", "../v3/payment_requests", ""):
        with pytest.raises(InvalidCardToken):
            xd.gateway.card_details(bad)
    with pytest.raises(InvalidCardToken):
        xd.gateway.charge(token=expired, amount=20000, currency="IDR", idempotency_key="pay_exp", description="t")


def test_charge_outcomes_map_to_langganan_codes(xd: XenditDriver) -> None:
    declined = xd.gateway.charge(token=xd.saved_card(DECLINED_CARD, 12, 2030, now=NOW), amount=20000,
                                 currency="IDR", idempotency_key="pay_d1", description="t")
    poor = xd.gateway.charge(token=xd.saved_card("4000000000009995", 12, 2030, now=NOW), amount=20000,
                             currency="IDR", idempotency_key="pay_d2", description="t")
    three_ds = xd.gateway.charge(token=xd.saved_card("4000000000003220", 12, 2030, now=NOW), amount=20000,
                                 currency="IDR", idempotency_key="pay_d3", description="t")
    assert (declined.succeeded, declined.failure_code, declined.failure_message) == (
        False, "card_declined", "The card was declined.")
    assert (poor.failure_code, poor.pending) == ("insufficient_funds", False)
    assert three_ds.pending and not three_ds.succeeded and three_ds.failure_code is None


# -- callbacks ------------------------------------------------------------------------------------------
def test_callback_token_is_compared_and_required(xd: XenditDriver) -> None:
    _va(xd, "pay_tok")
    headers, body = xd.pay(reference="pay_tok", va_number=None, amount=499000, currency="IDR", wall_now=NOW)
    for wrong in ({}, {"x-callback-token": ""}, {"x-callback-token": CALLBACK_TOKEN + "x"},
                  {"x-callback-token": CALLBACK_TOKEN[:-1]}, {"x-signature": CALLBACK_TOKEN}):
        with pytest.raises(InvalidSignature):
            xd.gateway.verify_notification(wrong, body, NOW)
    note = xd.gateway.verify_notification({"X-Callback-Token": CALLBACK_TOKEN}, body, NOW)
    assert note.outcome == Outcome.PAID and headers["x-callback-token"] == CALLBACK_TOKEN


def test_capture_is_confirmed_with_xendit_and_repeats_share_one_event_id(xd: XenditDriver) -> None:
    number = _va(xd, "pay_dup", bank="bri")
    callback = xd.pay(reference="pay_dup", va_number=number, amount=499000, currency="IDR", wall_now=NOW)
    note = xd.gateway.verify_notification(*callback, NOW)
    pr = xd.fake.by_reference("pay_dup")
    assert (note.outcome, note.amount, note.currency, note.reference, note.va_number, note.provider_ref) == (
        Outcome.PAID, 499000, "IDR", "pay_dup", number, pr["payment_request_id"])
    assert note.event_id == f"{pr['latest_payment_id']}:payment.capture"
    assert xd.fake.calls[-1].path == f"/v3/payment_requests/{pr['payment_request_id']}"
    again = xd.gateway.verify_notification(*callback, NOW + timedelta(hours=6))  # Xendit's retry
    status = xd.gateway.status("pay_dup")
    assert again.event_id == note.event_id and status is not None and status.event_id == note.event_id
    assert status.outcome == Outcome.PAID and status.amount == 499000


def test_a_forged_or_altered_callback_is_refused(xd: XenditDriver) -> None:
    _va(xd, "pay_forge")
    _va(xd, "pay_other")
    real = xd.fake.capture("pay_forge")
    headers = xd.fake.headers()
    with pytest.raises(InvalidNotification):  # the amount altered
        xd.gateway.verify_notification(*xd.tampered(xd.callback(real)), NOW)
    other = xd.fake.by_reference("pay_other")  # a capture claimed for a request nobody paid
    forged = {**real, "data": {**real["data"], "payment_request_id": other["payment_request_id"],
                               "reference_id": "pay_other"}}
    with pytest.raises(InvalidNotification):
        xd.gateway.verify_notification(headers, json.dumps(forged).encode(), NOW)
    moved = {**real, "data": {**real["data"], "reference_id": "pay_other"}}  # paid money pointed elsewhere
    with pytest.raises(InvalidNotification):
        xd.gateway.verify_notification(headers, json.dumps(moved).encode(), NOW)
    for junk in (b"not json", b"[]", b'{"event": "payment.capture"}', b'{"event": "invoice.paid", "data": {}}'):
        with pytest.raises(InvalidNotification):
            xd.gateway.verify_notification(headers, junk, NOW)


def test_reordered_callbacks_follow_the_payment_request(xd: XenditDriver) -> None:
    """Xendit may deliver late: a failed attempt or an expiry reported after the payment request was paid
    applies nothing; a final failure or an expiry of an unpaid request is reported as such."""
    _va(xd, "pay_order")
    early_failure = xd.fake.fail_attempt("pay_order", "USER_DID_NOT_AUTHORIZE", final=False)
    capture = xd.fake.capture("pay_order")
    late_expiry = xd.fake.webhook("payment_request.expiry", {**capture["data"], "status": "EXPIRED"})
    paid = xd.gateway.verify_notification(*xd.callback(capture), NOW)
    stale = xd.gateway.verify_notification(*xd.callback(early_failure), NOW)
    late = xd.gateway.verify_notification(*xd.callback(late_expiry), NOW)
    assert paid.outcome == Outcome.PAID
    assert (stale.outcome, late.outcome) == (Outcome.PENDING, Outcome.PENDING)
    assert len({paid.event_id, stale.event_id, late.event_id}) == 3
    _va(xd, "pay_fail")
    final = xd.gateway.verify_notification(*xd.callback(xd.fake.fail_attempt("pay_fail", "CARD_DECLINED",
                                                                             final=True)), NOW)
    assert (final.outcome, final.reference, final.failure_code) == (Outcome.FAILED, "pay_fail", "card_declined")
    _va(xd, "pay_lapse")
    callback = xd.expire(reference="pay_lapse", wall_now=NOW)
    assert callback is not None
    expired = xd.gateway.verify_notification(*callback, NOW)
    assert (expired.outcome, expired.amount, expired.reference) == (Outcome.EXPIRED, 499000, "pay_lapse")
    status = xd.gateway.status("pay_lapse")
    assert status is not None and status.event_id == expired.event_id


def test_capture_not_yet_confirmed_is_refused_for_the_retry(xd: XenditDriver) -> None:
    _va(xd, "pay_race")
    capture = xd.fake.capture("pay_race")
    xd.fake.by_reference("pay_race")["status"] = "REQUIRES_ACTION"  # Xendit's read lags its webhook
    with pytest.raises(InvalidNotification):
        xd.gateway.verify_notification(*xd.callback(capture), NOW)


def test_pay_and_save_capture_brings_the_saved_card(xd: XenditDriver) -> None:
    note = xd.gateway.verify_notification(*xd.callback(xd.fake.pay_and_save("pay_save", 99000, GOOD_CARD, 3, 2032)),
                                          NOW)
    assert note.outcome == Outcome.PAID and note.saved_card is not None
    card = note.saved_card.card
    assert note.saved_card.token.startswith("pt-") and (card.brand, card.last4, card.exp_month, card.exp_year) == (
        "visa", "4242", 3, 2032)
    token = xd.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    xd.gateway.charge(token=token, amount=20000, currency="IDR", idempotency_key="pay_renew", description="t")
    renewal = xd.gateway.status("pay_renew")
    assert renewal is not None and renewal.outcome == Outcome.PAID and renewal.saved_card is None


def test_token_events_are_acknowledged_without_effect(xd: XenditDriver) -> None:
    body = json.dumps({"event": "payment_token.activation", "data": {"payment_token_id": "pt-1", "currency": "IDR"}})
    note = xd.gateway.verify_notification(xd.fake.headers(), body.encode(), NOW)
    assert (note.outcome, note.event_id) == (Outcome.PENDING, "pt-1:payment_token.activation")


def test_status_of_unknown_pending_and_paid_payments(xd: XenditDriver) -> None:
    assert xd.gateway.status("pay_never") is None
    _va(xd, "pay_wait")
    waiting = xd.gateway.status("pay_wait")
    assert waiting is not None and waiting.outcome == Outcome.PENDING and waiting.reference == "pay_wait"
    assert xd.fake.calls[-1].path == "/v3/payment_requests?reference_id=pay_wait&limit=10"


# -- refunds --------------------------------------------------------------------------------------------
def test_partial_then_full_refund(xd: XenditDriver) -> None:
    token = xd.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    charged = xd.gateway.charge(token=token, amount=300000, currency="IDR", idempotency_key="pay_rf",
                                description="t")
    first = xd.gateway.refund(reference="pay_rf", provider_ref=charged.provider_ref, amount=100000, currency="IDR",
                              idempotency_key="rf_1", reason="requested by customer")
    repeat = xd.gateway.refund(reference="pay_rf", provider_ref=charged.provider_ref, amount=100000, currency="IDR",
                               idempotency_key="rf_1", reason="requested by customer")
    rest = xd.gateway.refund(reference="pay_rf", provider_ref=charged.provider_ref, amount=200000, currency="IDR",
                             idempotency_key="rf_2", reason="plan canceled")
    assert first.pending and not first.succeeded and repeat.provider_ref == first.provider_ref
    assert rest.pending and rest.provider_ref != first.provider_ref
    call = next(c for c in xd.fake.calls if c.path == "/refunds")
    assert call.headers["idempotency-key"] == "rf_1"
    assert call.body == {"payment_request_id": charged.provider_ref, "reference_id": "rf_1", "currency": "IDR",
                         "amount": 100000, "reason": "REQUESTED_BY_CUSTOMER",
                         "metadata": {"langganan_payment": "pay_rf", "reason": "requested by customer"}}
    with pytest.raises(GatewayRefused) as over:
        xd.gateway.refund(reference="pay_rf", provider_ref=charged.provider_ref, amount=1, currency="IDR",
                          idempotency_key="rf_3", reason="x")
    assert over.value.code == "refund_amount_exceeded" and over.value.status == 502
    note = xd.gateway.verify_notification(*xd.callback(xd.fake.settle_refund(rest.provider_ref)), NOW)
    assert (note.outcome, note.amount, note.reference, note.provider_ref) == (
        Outcome.REFUNDED, 200000, "pay_rf", charged.provider_ref)


def test_refusals_become_gateway_refused(xd: XenditDriver) -> None:
    _va(xd, "pay_va_rf")
    xd.fake.capture("pay_va_rf")
    pr_id = xd.fake.by_reference("pay_va_rf")["payment_request_id"]
    with pytest.raises(GatewayRefused) as va_refund:
        xd.gateway.refund(reference="pay_va_rf", provider_ref=pr_id, amount=1000, currency="IDR",
                          idempotency_key="rf_va", reason="x")
    assert va_refund.value.code == "refund_not_supported"
    with pytest.raises(GatewayRefused) as too_small:
        _va(xd, "pay_small", amount=5000)
    assert too_small.value.code == "invalid_request"
    with pytest.raises(GatewayRefused) as reused:
        _va(xd, "pay_va_rf", amount=600000)  # the same payment id (idempotency key), another amount
    assert reused.value.code == "duplicate_request"
    wrong_key = XenditGateway("xnd_development_wrong", CALLBACK_TOKEN, xd.fake.url, retry_pause=0)
    with pytest.raises(GatewayRefused) as creds:
        wrong_key.status("pay_va_rf")
    wrong_key.close()
    assert creds.value.code == "gateway_credentials" and "secret key" in creds.value.message


# -- timeouts and server errors -------------------------------------------------------------------------
def test_timeouts_retry_once_with_the_same_key_then_give_up(xd: XenditDriver) -> None:
    xd.fake.fail_next(2, "timeout")
    with pytest.raises(GatewayUnavailable):
        _va(xd, "pay_slow")
    calls = xd.fake.calls
    assert len(calls) == 2 and {c.headers["idempotency-key"] for c in calls} == {"pay_slow"}
    assert xd.fake.state.payment_requests == {}


def test_a_create_answered_too_late_is_retried_into_one_payment_request(xd: XenditDriver) -> None:
    xd.fake.fail_next(1, "late")  # Xendit made it, the answer missed the timeout
    token = xd.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    result = xd.gateway.charge(token=token, amount=50000, currency="IDR", idempotency_key="pay_late",
                               description="t")
    posts = [c for c in xd.fake.calls if c.method == "POST"]
    assert result.succeeded and len(posts) == 2 and posts[0].headers["idempotency-key"] == "pay_late" == \
        posts[1].headers["idempotency-key"] and posts[0].body == posts[1].body
    assert [pr["reference_id"] for pr in xd.fake.state.payment_requests.values()] == ["pay_late"]
    assert len(xd.fake.state.payments) == 1  # charged once


def test_server_errors_retry_once(xd: XenditDriver) -> None:
    xd.fake.fail_next(1, "500")
    assert _va(xd, "pay_500").isdigit()
    assert len(xd.fake.calls) == 2 and len(xd.fake.state.payment_requests) == 1
    xd.fake.fail_next(2, "500", method="GET")
    with pytest.raises(GatewayUnavailable):
        xd.gateway.status("pay_500")
    assert len(xd.fake.calls) == 4
    assert xd.gateway.status("pay_500") is not None
