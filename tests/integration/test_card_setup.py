"""Adding a card through each gateway's own card entry (Gateway.start_card_setup / finish_card_setup), against
the local fakes that check each field: Xendit's hosted SAVE session, Midtrans's card registration from the
browser (JSONP, client key), the sandbox's test-card form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from langganan.payments.gateway import (
    CardSetupIncomplete,
    CardSetupKind,
    GatewayRefused,
    InvalidCardToken,
    Outcome,
)
from langganan.payments.midtrans import MidtransGateway, card_token
from langganan.payments.sandbox import SandboxGateway
from tests.gateways.driver import DECLINED_CARD, GOOD_CARD
from tests.gateways.midtrans_driver import MidtransDriver
from tests.gateways.xendit_driver import XenditDriver

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
RETURN, CANCEL = "https://shop.example/portal/payment/cards/return?setup=cs_1", "https://shop.example/cancel?setup=cs_1"


@pytest.fixture
def xd() -> Iterator[XenditDriver]:
    with XenditDriver(timeout=0.5, fault_sleep=1.0) as driver:
        yield driver


@pytest.fixture
def mt() -> Iterator[MidtransDriver]:
    with MidtransDriver(clock=lambda: NOW, timeout=0.5) as driver:
        yield driver


def _start_xendit(xd: XenditDriver, reference: str = "cs_1") -> str:
    setup = xd.gateway.start_card_setup(reference=reference, email="budi@example.id", name="Budi Santoso",
                                        return_url=RETURN, cancel_url=CANCEL)
    assert setup.kind == CardSetupKind.HOSTED and setup.tokenize_url is None and setup.client_key is None
    assert setup.redirect_url == f"{xd.fake.url}/checkout/{setup.session_id}"
    return setup.session_id


# -- Xendit: a SAVE payment session on Xendit's page ----------------------------------------------------------
def test_xendit_session_request_fields(xd: XenditDriver) -> None:
    session_id = _start_xendit(xd)
    call = next(c for c in xd.fake.calls if c.path == "/sessions")
    assert call.method == "POST" and call.headers["idempotency-key"] == "cs_1"
    assert call.body == {
        "reference_id": "cs_1", "session_type": "SAVE", "mode": "PAYMENT_LINK", "amount": 0, "currency": "IDR",
        "country": "ID", "customer": {"reference_id": "cs_1", "type": "INDIVIDUAL", "email": "budi@example.id",
                                      "individual_detail": {"given_names": "Budi Santoso"}},
        "allowed_payment_channels": ["CARDS"], "channel_properties": {"cards": {"card_on_file_type": "RECURRING"}},
        "success_return_url": RETURN, "cancel_return_url": CANCEL}
    assert re.fullmatch(r"ps-[0-9a-f]{24}", session_id) and xd.fake.session(session_id)["status"] == "ACTIVE"
    again = _start_xendit(xd)  # the same reference: Xendit answers the first request's answer
    assert again == session_id and len(xd.fake.state.sessions) == 1


def test_the_fake_refuses_session_requests_xendit_would_refuse(xd: XenditDriver) -> None:
    client = httpx.Client(base_url=xd.fake.url, auth=(xd.fake.secret_key, ""))
    good: dict[str, Any] = {
        "reference_id": "cs_x", "session_type": "SAVE", "mode": "PAYMENT_LINK", "amount": 0, "currency": "IDR",
        "country": "ID", "customer": {"reference_id": "c", "type": "INDIVIDUAL", "email": "a@b.id",
                                      "individual_detail": {"given_names": "A"}},
        "allowed_payment_channels": ["CARDS"], "success_return_url": RETURN, "cancel_return_url": CANCEL}
    bad = [{**good, "amount": 1000}, {**good, "session_type": "SAVE_CARD"}, {**good, "currency": "USD"},
           {**good, "customer": {"reference_id": "c", "type": "INDIVIDUAL"}}, {**good, "success_return_url": "x"},
           {**good, "paymnet_channels": ["CARDS"]}]
    for n, body in enumerate(bad):
        answer = client.post("/sessions", json=body, headers={"idempotency-key": f"k{n}"})
        assert answer.status_code == 400 and answer.json()["error_code"] == "API_VALIDATION_ERROR", body
    assert client.post("/sessions", json=good, headers={"idempotency-key": "ok"}).status_code == 201
    assert httpx.post(f"{xd.fake.url}/sessions", json=good, headers={"idempotency-key": "ok2"},
                      auth=("xnd_other", "")).status_code == 401
    client.close()


def test_xendit_finish_reads_the_completed_session_and_its_card(xd: XenditDriver) -> None:
    session_id = _start_xendit(xd)
    token = xd.fake.complete_session(session_id, "5555555555554444", 3, 2031)
    saved = xd.gateway.finish_card_setup(session_id, {"payment_token_id": "pt-forged"})  # the browser's word: unread
    assert saved.token == token
    assert (saved.card.brand, saved.card.last4, saved.card.exp_month, saved.card.exp_year) == ("mastercard", "4444",
                                                                                                 3, 2031)
    assert xd.gateway.charge(token=saved.token, amount=1000, currency="IDR", idempotency_key="pay_1",
                             description="t").succeeded


@pytest.mark.parametrize(("status", "code"), [("ACTIVE", "card_setup_incomplete"),
                                              ("CANCELED", "card_setup_canceled"),
                                              ("EXPIRED", "card_setup_expired")])
def test_xendit_session_not_completed_saves_nothing(xd: XenditDriver, status: str, code: str) -> None:
    session_id = _start_xendit(xd)
    if status != "ACTIVE":
        xd.fake.end_session(session_id, status)
    with pytest.raises(CardSetupIncomplete) as err:
        xd.gateway.finish_card_setup(session_id, {})
    assert err.value.code == code and err.value.status == 422
    assert xd.fake.state.tokens == {}


def test_xendit_session_webhooks_are_acknowledged_without_effect(xd: XenditDriver) -> None:
    """The card is kept when the customer comes back (or the integrator completes the setup): Xendit's
    payment_session.* webhooks, if sent to langganan, are acknowledged (not refused into 24 hours of retries)."""
    session_id = _start_xendit(xd)
    token = xd.fake.complete_session(session_id, GOOD_CARD, 12, 2030)
    body = xd.fake.webhook("payment_session.completed", {**xd.fake.session(session_id), "payment_token_id": token})
    note = xd.gateway.verify_notification(xd.fake.headers(), json.dumps(body).encode(), NOW)
    assert (note.outcome, note.event_id, note.reference) == (Outcome.PENDING,
                                                             f"{session_id}:payment_session.completed", None)


def test_xendit_unknown_session_is_incomplete(xd: XenditDriver) -> None:
    for session_id in ("ps-0123456789abcdef01234567", "pr-not-a-session", ""):
        with pytest.raises(CardSetupIncomplete):
            xd.gateway.finish_card_setup(session_id, {})


def test_xendit_hosted_page_keeps_a_card_and_sends_the_browser_back(xd: XenditDriver) -> None:
    """The fake's hosted page over plain HTTP: a refused card keeps the session open, a good one completes it
    and redirects to success_return_url; the page needs no secret key (it is the customer's browser)."""
    session_id = _start_xendit(xd)
    page = httpx.get(f"{xd.fake.url}/checkout/{session_id}")
    assert page.status_code == 200 and 'name="card_number"' in page.text and CANCEL in page.text
    form = {"card_number": DECLINED_CARD, "expiry_month": "12", "expiry_year": "2030", "cvn": "123"}
    refused = httpx.post(f"{xd.fake.url}/checkout/{session_id}", data=form)
    assert refused.status_code == 200 and "declined" in refused.text
    assert xd.fake.session(session_id)["status"] == "ACTIVE"
    done = httpx.post(f"{xd.fake.url}/checkout/{session_id}", data={**form, "card_number": GOOD_CARD})
    assert done.status_code == 303 and done.headers["location"] == RETURN
    assert xd.gateway.finish_card_setup(session_id, {}).card.last4 == "4242"
    assert httpx.get(f"{xd.fake.url}/checkout/{session_id}").status_code == 404  # used up


def test_xendit_session_refused_or_unanswered(xd: XenditDriver) -> None:
    xd.fake.fail_next(2, "500")
    with pytest.raises(Exception) as err:
        _start_xendit(xd, "cs_down")
    assert getattr(err.value, "code", None) == "gateway_unavailable"
    with pytest.raises(GatewayRefused) as refused:
        xd.gateway.start_card_setup(reference="cs_2", email="not-an-email", name="B", return_url=RETURN,
                                    cancel_url=CANCEL)
    assert refused.value.code == "invalid_request"


# -- Midtrans: langganan's page registers the card from the browser ------------------------------------------
def _register(mt: MidtransDriver, number: str = GOOD_CARD, month: str = "12", year: str = "2030",
              client_key: str | None = None) -> dict[str, Any]:
    """What card_setup.js does: a JSONP GET of the card registration URL with the client key."""
    answer = httpx.get(f"{mt.fake.url}/v2/card/register",
                       params={"card_number": number, "card_exp_month": month, "card_exp_year": year,
                               "client_key": client_key or mt.fake.client_key, "callback": "langgananCard1"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/javascript"
    match = re.fullmatch(r"langgananCard1\((.*)\);", answer.text)
    assert match is not None, answer.text
    body: dict[str, Any] = json.loads(match[1])
    return body


def test_midtrans_setup_is_langganans_page_with_the_client_key(mt: MidtransDriver) -> None:
    setup = mt.gateway.start_card_setup(reference="cs_1", email="b@example.id", name="Budi", return_url=RETURN,
                                        cancel_url=CANCEL)
    assert setup.kind == CardSetupKind.TOKENIZE and setup.redirect_url is None
    assert (setup.tokenize_url, setup.client_key) == (f"{mt.fake.url}/v2/card/register", mt.fake.client_key)
    assert setup.session_id.startswith("mtcs_") and mt.fake.calls == []  # nothing asked of Midtrans yet
    keyless = MidtransGateway(mt.fake.server_key, mt.fake.url)
    with pytest.raises(GatewayRefused) as err:
        keyless.start_card_setup(reference="cs_1", email="b@example.id", name="B", return_url=RETURN,
                                 cancel_url=CANCEL)
    keyless.close()
    assert err.value.code == "gateway_settings"


def test_midtrans_finish_stores_the_registered_token_with_the_expiry(mt: MidtransDriver) -> None:
    answer = _register(mt, "4811111111111114", "03", "2031")
    assert answer["status_code"] == "200" and answer["masked_card"] == "48111111-1114"
    saved = mt.gateway.finish_card_setup("mtcs_x", {"saved_token_id": answer["saved_token_id"], "exp_month": "3",
                                                    "exp_year": "2031"})
    assert saved.token == card_token(answer["saved_token_id"], 3, 2031)
    assert (saved.card.brand, saved.card.last4, saved.card.exp_month, saved.card.exp_year) == ("visa", "1114", 3, 2031)
    result = mt.gateway.charge(token=saved.token, amount=5000, currency="IDR", idempotency_key="pay_cs_1",
                               description="t")
    assert result.succeeded and mt.fake.last_body("/v2/charge")["credit_card"] == {"token_id": answer["saved_token_id"]}


def test_midtrans_finish_refuses_what_is_not_a_registered_card(mt: MidtransDriver) -> None:
    saved = _register(mt)["saved_token_id"]
    with pytest.raises(CardSetupIncomplete):
        mt.gateway.finish_card_setup("mtcs_x", {"exp_month": "12", "exp_year": "2030"})
    for returned in ({"saved_token_id": saved, "exp_month": "13", "exp_year": "2030"},
                     {"saved_token_id": saved, "exp_month": "12", "exp_year": "30"},
                     {"saved_token_id": saved, "exp_month": "１２", "exp_year": "2030"},
                     {"saved_token_id": "not a token", "exp_month": "12", "exp_year": "2030"}):
        with pytest.raises(InvalidCardToken):
            mt.gateway.finish_card_setup("mtcs_x", returned)


def test_the_fake_card_registration_speaks_to_another_origin(mt: MidtransDriver) -> None:
    """JSONP answers are HTTP 200 with the status in the body (a script cannot read the status line); a plain
    GET answers JSON readable cross-origin. A wrong client key registers nothing."""
    wrong = _register(mt, client_key="SB-Mid-client-other")
    assert wrong["status_code"] == "401" and "saved_token_id" not in wrong and mt.fake.cards == {}
    plain = httpx.get(f"{mt.fake.url}/v2/card/register",
                      params={"card_number": GOOD_CARD, "card_exp_month": "12", "card_exp_year": "2030",
                              "client_key": mt.fake.client_key})
    assert plain.status_code == 200 and plain.headers["access-control-allow-origin"] == "*"
    assert plain.json()["saved_token_id"] in mt.fake.cards
    evil = httpx.get(f"{mt.fake.url}/v2/card/register", params={"client_key": mt.fake.client_key,
                                                                "callback": "alert(1)//"})
    assert evil.status_code == 400 and evil.headers["content-type"] == "application/json"


# -- the sandbox: its own test-card form --------------------------------------------------------------------------
def test_sandbox_setup_is_its_test_card_form() -> None:
    gateway = SandboxGateway("s3cret")
    setup = gateway.start_card_setup(reference="cs_1", email="b@example.id", name="B", return_url=RETURN,
                                     cancel_url=CANCEL)
    assert setup.kind == CardSetupKind.SANDBOX_FORM and setup.redirect_url is None
    token = gateway.tokenize(GOOD_CARD, 12, 2030, "123", now=NOW)
    saved = gateway.finish_card_setup(setup.session_id, {"provider_token": token})
    assert (saved.token, saved.card.last4) == (token, "4242")
    with pytest.raises(CardSetupIncomplete):
        gateway.finish_card_setup(setup.session_id, {})
    with pytest.raises(InvalidCardToken):
        gateway.finish_card_setup(setup.session_id, {"provider_token": "tok_sandbox_forged.00"})
