"""Saved cards in the customer's hands (payments/cards.py): remove, default, and the expiry notice."""

from __future__ import annotations

from sqlalchemy import select

from langganan.events.models import Event
from tests.conftest import Env


def _card(env: Env, account_id: str, month: int, year: int, number: str = "4242424242424242") -> str:
    token = env.ok(env.post("/v1/sandbox/cards", {"number": number, "exp_month": month, "exp_year": year,
                                                  "cvc": "123"}), 201)["provider_token"]
    return str(env.ok(env.post(f"/v1/accounts/{account_id}/payment-methods", {"provider_token": token}), 201)["id"])


def _methods(env: Env, account_id: str) -> list[tuple[str, bool]]:
    data = env.ok(env.get(f"/v1/accounts/{account_id}/payment-methods"))["data"]
    return [(m["id"], m["default"]) for m in data]


def test_remove_and_default(env: Env) -> None:
    acc = env.account()
    first, second, third = (_card(env, acc["id"], 12, 2030) for _ in range(3))
    assert _methods(env, acc["id"]) == [(first, True), (second, False), (third, False)]
    assert env.ok(env.post(f"/v1/accounts/{acc['id']}/payment-methods/{second}/default"))["default"] is True
    assert _methods(env, acc["id"]) == [(first, False), (second, True), (third, False)]
    env.ok(env.client.delete(f"/v1/accounts/{acc['id']}/payment-methods/{second}", headers=env.headers))
    assert _methods(env, acc["id"]) == [(first, False), (third, True)]  # the newest remaining is the default
    gone = env.client.delete(f"/v1/accounts/{acc['id']}/payment-methods/{second}", headers=env.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "payment_method_not_found"
    # A removed card is never charged again.
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                   {"plan": "growth", "payment_method": "card", "payment_method_id": second})
    assert res.status_code == 404
    assert env.subscription(acc["id"])["plan"] == "free"
    other = env.account()
    foreign = env.client.delete(f"/v1/accounts/{other['id']}/payment-methods/{first}", headers=env.headers)
    assert foreign.status_code == 404
    assert "payment_method.removed" in env.event_types(acc["id"])


def test_the_auto_renew_card_cannot_be_removed(env: Env) -> None:
    acc = env.account()
    card = _card(env, acc["id"], 12, 2030)
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/auto-renew", {"enabled": True,
                                                                          "payment_method_id": card}))
    res = env.client.delete(f"/v1/accounts/{acc['id']}/payment-methods/{card}", headers=env.headers)
    assert res.status_code == 409 and res.json()["error"]["code"] == "payment_method_in_use"
    assert "4242" in res.json()["error"]["message"]
    assert _methods(env, acc["id"]) == [(card, True)]
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/auto-renew", {"enabled": False}))
    env.ok(env.client.delete(f"/v1/accounts/{acc['id']}/payment-methods/{card}", headers=env.headers))
    assert _methods(env, acc["id"]) == []


def test_customers_are_told_14_days_before_a_card_expires_once(env: Env) -> None:
    acc = env.account()
    soon = _card(env, acc["id"], 2, 2026)  # good through 28 February 2026; the clock starts on 15 January
    _card(env, acc["id"], 12, 2030)

    def told() -> list[dict[str, object]]:
        with env.db.transaction() as s:
            return [e.data for e in s.scalars(select(Event).where(Event.type == "payment_method.expiring"))]

    env.advance(days=30)  # 14 February 03:00 UTC: the card is good for 14 days and 21 hours more
    assert told() == []
    env.advance(days=1)  # 15 February: within 14 days of the end of 28 February
    notices = told()
    assert [n["payment_method_id"] for n in notices] == [soon]
    assert notices[0]["last4"] == "4242" and str(notices[0]["expires_at"]).startswith("2026-02-28T23:59:59")
    env.advance(days=3)
    assert len(told()) == 1  # once per card
