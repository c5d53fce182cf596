"""The seed's payment flows with LANGGANAN_GATEWAY=midtrans and =xendit, each against its local fake
(tests/gateways/fake_*.py, speaking the gateway's documented protocol): the app builds the adapter from its
settings (keys, base URL), takes money by card, virtual account and QRIS, hears callbacks on the gateway's own
route, renews by card on time, and finds a payment whose callback never came with the status check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from langganan.app import create_app, prepare
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.payments.midtrans import MidtransGateway
from langganan.payments.xendit import XenditGateway
from tests.conftest import ADMIN_KEY, Env, make_settings
from tests.gateways.driver import DECLINED_CARD, GOOD_CARD, Driver
from tests.gateways.midtrans_driver import MidtransDriver
from tests.gateways.xendit_driver import CALLBACK_TOKEN, SECRET_KEY, XenditDriver


@dataclass
class Live:
    env: Env
    driver: Driver
    name: str

    def notify(self, callback: tuple[dict[str, str], bytes]) -> dict[str, Any]:
        headers, body = callback
        res = self.env.client.post(f"/v1/gateways/{self.name}/notifications", content=body,
                                   headers={"content-type": "application/json", **headers})
        return dict(self.env.ok(res))

    def card(self, account_id: str, number: str = GOOD_CARD) -> str:
        token = self.driver.saved_card(number, 12, 2030, now=wall_now())
        return str(self.env.ok(self.env.post(f"/v1/accounts/{account_id}/payment-methods",
                                             {"provider_token": token}), 201)["id"])


def _settings(database: Database, name: str, driver: Any) -> dict[str, Any]:
    # The engine clock starts at the wall clock's second: a gateway checks expiry times against its own clock.
    start = datetime.now(UTC).replace(microsecond=0)
    if name == "midtrans":
        keys = dict(midtrans_server_key=driver.fake.server_key, midtrans_client_key=driver.fake.client_key,
                    midtrans_base_url=driver.fake.url)
    else:
        keys = dict(xendit_secret_key=SECRET_KEY, xendit_callback_token=CALLBACK_TOKEN, xendit_base_url=driver.fake.url)
    return dict(gateway=name, clock_start=start, gateway_timeout_seconds=0.5, **keys)


@pytest.fixture(params=["midtrans", "xendit"])
def live(request: pytest.FixtureRequest, database: Database) -> Iterator[Live]:
    name = request.param
    with (MidtransDriver() if name == "midtrans" else XenditDriver()) as driver:
        settings = make_settings(database, **_settings(database, name, driver))
        prepare(settings, database, migrate_if_empty=False)
        app = create_app(settings, database)  # the gateway built from the settings, not handed in
        with TestClient(app) as client:
            gateway = app.state.ctx.gateway
            assert isinstance(gateway, MidtransGateway if name == "midtrans" else XenditGateway)
            yield Live(Env(db=database, settings=settings, client=client,
                           headers={"Authorization": f"Bearer {ADMIN_KEY}"}), driver, name)


def test_card_purchase_and_a_decline(live: Live) -> None:
    env = live.env
    acc = env.account()
    card = live.card(acc["id"])
    method = env.ok(env.get(f"/v1/accounts/{acc['id']}/payment-methods"))["data"][0]
    assert (method["last4"], method["exp_month"], method["exp_year"]) == ("4242", 12, 2030)
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
    assert res["invoice"]["status"] == "paid" and env.subscription(acc["id"])["plan"] == "growth"
    other = env.account()
    declining = live.card(other["id"], DECLINED_CARD)
    refused = env.post(f"/v1/accounts/{other['id']}/subscription/change",
                       {"plan": "growth", "payment_method": "card", "payment_method_id": declining})
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "card_declined"
    assert env.subscription(other["id"])["plan"] == "free"
    env.assert_books()


@pytest.mark.parametrize("bank", ["bni", "mandiri"])
def test_bank_transfer_paid_by_the_gateways_callback_once(live: Live, bank: str) -> None:
    env = live.env
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                              {"plan": "pro", "payment_method": "bank_transfer", "bank": bank}))["invoice"]
    payment = invoice["payment"]
    assert payment["bank"] == bank and payment["va_number"]
    if live.name == "midtrans" and bank == "mandiri":
        assert payment["biller_code"]  # Mandiri bill payment: biller code + bill key
    callback = live.driver.pay(reference=payment["id"], va_number=payment["va_number"], amount=invoice["total"],
                               currency="IDR", wall_now=wall_now())
    assert live.notify(callback)["outcome"] == "applied"
    assert live.notify(callback)["outcome"] == "duplicate"
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "pro"
    env.assert_books()


def test_top_up_by_qris(live: Live) -> None:
    env = live.env
    acc = env.account()
    before = env.wallet(acc["id"])["balance"]
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups",
                              {"wallet": "conversation", "amount": 100_000, "payment_method": "qris"}), 201)
    payment = invoice["payment"]
    assert payment["method"] == "qris" and payment["qr_string"]
    callback = live.driver.pay(reference=payment["id"], va_number=None, amount=invoice["total"], currency="IDR",
                               wall_now=wall_now())
    assert live.notify(callback)["outcome"] == "applied"
    assert env.wallet(acc["id"])["balance"] == before + 100_000
    env.assert_books()


def test_renewal_charged_to_the_saved_card_at_period_end(live: Live) -> None:
    env = live.env
    acc = env.account()
    card = live.card(acc["id"])
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/auto-renew", {"enabled": True,
                                                                          "payment_method_id": card}))
    end = env.subscription(acc["id"])["current_period_end"]
    env.advance(to=end)
    sub = env.subscription(acc["id"])
    assert sub["status"] == "active" and sub["current_period_start"] == end
    renewals = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=renewal"))["data"]
    assert [r["status"] for r in renewals] == ["paid"] and renewals[0]["payment"]["method"] == "card"
    env.assert_books()


def test_a_lost_callback_is_settled_by_the_status_check(live: Live) -> None:
    env = live.env
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                              {"plan": "growth", "payment_method": "bank_transfer", "bank": "bri"}))["invoice"]
    payment = invoice["payment"]
    live.driver.pay(reference=payment["id"], va_number=payment["va_number"], amount=invoice["total"],
                    currency="IDR", wall_now=wall_now())  # the money arrived; its callback is lost
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "unpaid"
    env.advance(hours=1)  # older than LANGGANAN_PAYMENT_STATUS_CHECK_MINUTES (30): the worker asks the gateway
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "growth"
    env.assert_books()


def test_a_card_charge_whose_answer_is_lost_is_neither_lost_nor_doubled(live: Live) -> None:
    """The gateway takes the money but its answers (the call and its one retry) come too late: the customer
    is told 503 gateway_unavailable, the payment stays pending, and the status check later finds the charge
    and pays the invoice with it; the gateway captured once."""
    env = live.env
    acc = env.account()
    card = live.card(acc["id"])
    fake: Any = live.driver.fake  # type: ignore[attr-defined]
    if live.name == "midtrans":
        fake.fail_next(2, "timeout_after", "/v2/charge")
    else:
        fake.fail_next(2, "late", "POST")
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                   {"plan": "growth", "payment_method": "card", "payment_method_id": card})
    assert res.status_code == 503 and res.json()["error"]["code"] == "gateway_unavailable", res.text
    assert res.headers["Retry-After"]
    invoice = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&status=unpaid"))["data"][0]
    assert invoice["payment"]["status"] == "pending"
    assert env.subscription(acc["id"])["plan"] == "free"
    env.advance(hours=1)
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "growth"
    if live.name == "midtrans":
        assert fake.captures == 1
    else:
        charges = [c for c in fake.calls if c.method == "POST" and c.path.startswith("/v3/payment_requests")]
        assert len({c.headers.get("idempotency-key") for c in charges}) == 1  # one key: one payment at Xendit
    env.assert_books()


def test_a_credit_note_refunds_through_the_gateway_once_even_when_its_answer_is_lost(live: Live) -> None:
    """A partial credit note of a card purchase goes back through the gateway's refund call; the first call's
    answer comes too late (503, nothing issued), the same request again finishes it with the same key (the
    credit note's id): the gateway refunded once."""
    env = live.env
    acc = env.account()
    card = live.card(acc["id"])
    paid = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                           {"plan": "growth", "payment_method": "card", "payment_method_id": card}))["invoice"]
    assert paid["status"] == "paid"
    payment_id = paid["payment"]["id"]
    fake: Any = live.driver.fake  # type: ignore[attr-defined]
    if live.name == "midtrans":
        fake.settle(payment_id)  # a card capture settles before it can be refunded
        fake.fail_next(2, "timeout_after", f"/v2/{payment_id}/refund")
    else:
        fake.fail_next(2, "late", "POST")
    body = {"amount": 100_000, "reason": "requested by customer", "refund_to": "gateway"}
    lost = env.post(f"/v1/invoices/{paid['id']}/credit-notes", body)
    assert lost.status_code == 503 and lost.json()["error"]["code"] == "gateway_unavailable", lost.text
    assert env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=credit_note"))["data"] == []
    env.assert_books()
    note = env.ok(env.post(f"/v1/invoices/{paid['id']}/credit-notes", body), 201)
    assert (note["type"], note["total"], note["refers_to"]) == ("credit_note", -100_000, paid["id"])
    if live.name == "midtrans":
        (refund,) = fake.refunds(payment_id)
        assert (refund["refund_key"], refund["refund_amount"]) == (note["id"], "100000.00")
    else:
        (refund,) = fake.state.refunds.values()
        assert (refund["reference_id"], refund["amount"]) == (note["id"], 100_000)
        keys = {c.headers.get("idempotency-key") for c in fake.calls if c.method == "POST" and c.path == "/refunds"}
        assert keys == {note["id"]}
    env.assert_books()


def test_a_stalled_credit_note_refund_is_finished_by_the_worker(live: Live) -> None:
    """Nobody repeats the request: the due worker asks the gateway again, with the same key, once the refund has
    waited past the status-check age; the credit note is issued and the gateway refunded once."""
    env = live.env
    acc = env.account()
    card = live.card(acc["id"])
    paid = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                           {"plan": "growth", "payment_method": "card", "payment_method_id": card}))["invoice"]
    payment_id = paid["payment"]["id"]
    fake: Any = live.driver.fake  # type: ignore[attr-defined]
    if live.name == "midtrans":
        fake.settle(payment_id)
        fake.fail_next(2, "timeout_after", f"/v2/{payment_id}/refund")
    else:
        fake.fail_next(2, "late", "POST")
    lost = env.post(f"/v1/invoices/{paid['id']}/credit-notes",
                    {"amount": 50_000, "reason": "service outage credit", "refund_to": "gateway"})
    assert lost.status_code == 503
    env.advance(hours=1)  # past LANGGANAN_PAYMENT_STATUS_CHECK_MINUTES: the worker resumes it
    (note,) = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=credit_note"))["data"]
    assert (note["total"], note["refers_to"]) == (-50_000, paid["id"])
    if live.name == "midtrans":
        assert len(fake.refunds(payment_id)) == 1
    else:
        assert len(fake.state.refunds) == 1
    env.assert_books()
