"""Adding a card through the configured gateway's own card entry over the API (`POST /v1/accounts/{id}/card-setups`,
then `.../complete`), with LANGGANAN_GATEWAY=midtrans and =xendit against their local fakes and with the
sandbox: the card is kept once, for its own account only, and a canceled or unfinished entry keeps nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from langganan.app import create_app, prepare
from langganan.kit.db import Database
from tests.api.test_real_gateways import _settings
from tests.conftest import ADMIN_KEY, Env, make_settings
from tests.gateways.driver import GOOD_CARD
from tests.gateways.midtrans_driver import MidtransDriver
from tests.gateways.xendit_driver import XenditDriver

URLS = {"return_url": "https://app.example/cards/back", "cancel_url": "https://app.example/cards/canceled"}


class Gw:
    def __init__(self, env: Env, driver: Any, name: str) -> None:
        self.env, self.driver, self.name = env, driver, name

    def start(self, account_id: str) -> dict[str, Any]:
        return dict(self.env.ok(self.env.post(f"/v1/accounts/{account_id}/card-setups", URLS), 201))

    def enter_card(self, setup: dict[str, Any], number: str = GOOD_CARD) -> dict[str, str]:
        """The customer enters the card where the setup says; returns what the integrator completes with."""
        if self.name == "xendit":
            assert setup["kind"] == "hosted" and setup["redirect_url"].startswith(self.driver.fake.url)
            self.driver.fake.complete_session(setup["redirect_url"].rsplit("/", 1)[1], number, 12, 2030)
            return {}
        assert setup["kind"] == "tokenize" and setup["client_key"] == self.driver.fake.client_key
        answer = httpx.get(setup["tokenize_url"], params={"card_number": number, "card_exp_month": "12",
                                                          "card_exp_year": "2030", "client_key": setup["client_key"],
                                                          "callback": "cb"})
        match = re.fullmatch(r"cb\((.*)\);", answer.text)
        assert match is not None
        return {"saved_token_id": json.loads(match[1])["saved_token_id"], "exp_month": "12", "exp_year": "2030"}

    def complete(self, account_id: str, setup_id: str, body: dict[str, str]) -> Any:
        return self.env.post(f"/v1/accounts/{account_id}/card-setups/{setup_id}/complete", body)


@pytest.fixture(params=["midtrans", "xendit"])
def gw(request: pytest.FixtureRequest, database: Database) -> Iterator[Gw]:
    name = request.param
    with (MidtransDriver() if name == "midtrans" else XenditDriver()) as driver:
        settings = make_settings(database, **_settings(database, name, driver))
        prepare(settings, database, migrate_if_empty=False)
        with TestClient(create_app(settings, database)) as client:
            yield Gw(Env(db=database, settings=settings, client=client,
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}), driver, name)


def _methods(env: Env, account_id: str) -> list[dict[str, Any]]:
    return list(env.ok(env.get(f"/v1/accounts/{account_id}/payment-methods"))["data"])


def test_a_card_entered_with_the_gateway_is_kept_once_and_pays(gw: Gw) -> None:
    env = gw.env
    acc = env.account()
    setup = gw.start(acc["id"])
    assert setup["id"].startswith("cs_")
    card = env.ok(gw.complete(acc["id"], setup["id"], gw.enter_card(setup)))
    assert (card["last4"], card["exp_month"], card["exp_year"], card["default"]) == ("4242", 12, 2030, True)
    again = env.ok(gw.complete(acc["id"], setup["id"], {}))  # a repeat (the customer's reload) keeps it once
    assert again["id"] == card["id"]
    assert [m["id"] for m in _methods(env, acc["id"])] == [card["id"]]
    assert env.event_types(acc["id"]).count("payment_method.created") == 1
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "growth", "payment_method": "card", "payment_method_id": card["id"]}))
    assert res["invoice"]["status"] == "paid" and env.subscription(acc["id"])["plan"] == "growth"
    second = gw.start(acc["id"])  # a second card is not the default
    assert env.ok(gw.complete(acc["id"], second["id"], gw.enter_card(second, "5555555555554444")))["default"] is False
    env.assert_books()


def test_another_accounts_setup_is_not_found(gw: Gw) -> None:
    env = gw.env
    owner, other = env.account(), env.account()
    setup = gw.start(owner["id"])
    entered = gw.enter_card(setup)
    res = gw.complete(other["id"], setup["id"], entered)
    assert res.status_code == 404 and res.json()["error"]["code"] == "card_setup_not_found"
    assert _methods(env, other["id"]) == [] and _methods(env, owner["id"]) == []


def test_an_unfinished_or_canceled_entry_keeps_nothing(gw: Gw) -> None:
    env = gw.env
    acc = env.account()
    setup = gw.start(acc["id"])
    res = gw.complete(acc["id"], setup["id"], {})  # back before entering the card
    assert res.status_code == 422 and res.json()["error"]["code"] == "card_setup_incomplete"
    if gw.name == "xendit":
        gw.driver.fake.end_session(setup["redirect_url"].rsplit("/", 1)[1], "CANCELED")
        res = gw.complete(acc["id"], setup["id"], {})
        assert res.status_code == 422 and res.json()["error"]["code"] == "card_setup_canceled"
    else:
        res = gw.complete(acc["id"], setup["id"], {"saved_token_id": "4811forged", "exp_month": "12",
                                                   "exp_year": "2030"})
        assert res.status_code == 400 and res.json()["error"]["code"] == "invalid_card_token"
    assert _methods(env, acc["id"]) == []
    assert "payment_method.created" not in env.event_types(acc["id"])


def test_sandbox_setup_completes_with_a_test_card_token(env: Env) -> None:
    acc = env.account()
    setup = env.ok(env.post(f"/v1/accounts/{acc['id']}/card-setups", URLS), 201)
    assert setup["kind"] == "sandbox_form" and setup["redirect_url"] is None
    token = env.ok(env.post("/v1/sandbox/cards", {"number": GOOD_CARD, "exp_month": 12, "exp_year": 2030,
                                                  "cvc": "123"}), 201)["provider_token"]
    card = env.ok(env.post(f"/v1/accounts/{acc['id']}/card-setups/{setup['id']}/complete",
                           {"provider_token": token}))
    assert card["last4"] == "4242" and card["default"] is True
    # A setup is good for a day: one begun and left is refused after that.
    late = env.ok(env.post(f"/v1/accounts/{acc['id']}/card-setups", URLS), 201)
    env.advance(days=2)
    res = env.post(f"/v1/accounts/{acc['id']}/card-setups/{late['id']}/complete", {"provider_token": token})
    assert res.status_code == 422 and res.json()["error"]["code"] == "card_setup_expired"


def test_card_setup_input_is_checked(env: Env) -> None:
    acc = env.account()
    bad = env.post(f"/v1/accounts/{acc['id']}/card-setups", {"return_url": "javascript:alert(1)",
                                                              "cancel_url": URLS["cancel_url"]})
    assert bad.status_code == 422
    missing = env.post("/v1/accounts/acc_missing/card-setups", URLS)
    assert missing.status_code == 404
    setup = env.ok(env.post(f"/v1/accounts/{acc['id']}/card-setups", URLS), 201)
    extra = env.post(f"/v1/accounts/{acc['id']}/card-setups/{setup['id']}/complete", {"card_number": GOOD_CARD})
    assert extra.status_code == 422  # a card number is never taken here
