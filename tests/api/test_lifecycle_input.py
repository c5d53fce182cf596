"""Bad input to promotions, auto-renew and trial extension: a clear error in the API.md shape, and
nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_bad_input import assert_error, unchanged
from tests.api.test_protocol import integration_headers
from tests.conftest import Env

PROMO = {"code": "SPRING", "percent_off": 10, "plans": ["growth"], "duration_months": 2}


@pytest.mark.parametrize(("body", "status", "code", "param"), [
    ({**PROMO, "code": "a b"}, 422, "invalid_code", "code"),
    ({**PROMO, "amount_off": 5000}, 422, "invalid_discount", "percent_off"),
    ({k: v for k, v in PROMO.items() if k != "percent_off"}, 422, "invalid_discount", "percent_off"),
    ({**PROMO, "percent_off": 101}, 422, "invalid_parameter", "percent_off"),
    ({**PROMO, "ends_at": "2026-06-01T00:00:00+07:00"}, 422, "invalid_duration", "ends_at"),
    ({**{k: v for k, v in PROMO.items() if k != "duration_months"}, "ends_at": "2025-01-01T00:00:00+07:00"},
     422, "invalid_duration", "ends_at"),
    ({**PROMO, "plans": ["free"]}, 422, "invalid_plans", "plans"),
    ({**PROMO, "plans": ["platinum"]}, 422, "invalid_plans", "plans"),
    ({**PROMO, "plans": []}, 422, "invalid_parameter", "plans"),
    ({**PROMO, "max_redemptions": 0}, 422, "invalid_parameter", "max_redemptions"),
    ({**PROMO, "extra": 1}, 422, "unknown_parameter", "extra"),
])
def test_bad_promotions_are_refused(env: Env, body: dict[str, Any], status: int, code: str, param: str) -> None:
    with unchanged(env):
        assert_error(env.post("/v1/promotions", body), status, code, param)


def test_promotions_are_for_operators_and_codes_are_unique(env: Env) -> None:
    key = integration_headers(env)
    with unchanged(env):
        assert_error(env.post("/v1/promotions", PROMO, headers=key), 403, "forbidden")
    env.ok(env.post("/v1/promotions", PROMO), 201)
    with unchanged(env):
        assert_error(env.post("/v1/promotions", {**PROMO, "code": "spring"}), 409, "promotion_code_taken", "code")
    assert_error(env.get("/v1/promotions", headers=key), 403, "forbidden")
    listed = env.ok(env.get("/v1/promotions"))["data"]
    assert [p["code"] for p in listed] == ["SPRING"]
    assert env.ok(env.get("/v1/promotions/spring"))["id"] == listed[0]["id"]
    assert_error(env.get("/v1/promotions/NOPE"), 404, "promotion_not_found")


def test_redeeming_refuses_unknown_exhausted_expired_ineligible_and_repeated_codes(env: Env) -> None:
    env.ok(env.post("/v1/promotions", {**PROMO, "max_redemptions": 1}), 201)
    env.ok(env.post("/v1/promotions", {"code": "SHORT", "amount_off": 50000, "plans": ["growth"],
                                       "ends_at": "2026-01-20T00:00:00+07:00"}), 201)
    env.ok(env.post("/v1/promotions", {"code": "PROONLY", "percent_off": 5, "plans": ["pro"],
                                       "duration_months": 1}), 201)
    first, second, growth = env.account()["id"], env.account()["id"], env.account()["id"]
    env.buy(growth, "growth")
    with unchanged(env, first):
        assert_error(env.post(f"/v1/accounts/{first}/promotions", {"code": "NOPE"}), 404, "promotion_not_found",
                     "code")
    env.ok(env.post(f"/v1/accounts/{first}/promotions", {"code": "spring"}, headers=integration_headers(env)),
           201)  # redeeming is what integrations (the portal) do
    with unchanged(env, first):
        assert_error(env.post(f"/v1/accounts/{first}/promotions", {"code": "SPRING"}), 409,
                     "promotion_already_redeemed", "code")
        assert_error(env.post(f"/v1/accounts/{first}/promotions", {"code": "SHORT"}), 409,
                     "promotion_already_active", "code")
    with unchanged(env, second):
        assert_error(env.post(f"/v1/accounts/{second}/promotions", {"code": "SPRING"}), 409,
                     "promotion_exhausted", "code")
    with unchanged(env, growth):
        assert_error(env.post(f"/v1/accounts/{growth}/promotions", {"code": "PROONLY"}), 409,
                     "promotion_not_eligible", "code")
    env.advance(to="2026-01-20T00:00:00+07:00")
    with unchanged(env, second):
        assert_error(env.post(f"/v1/accounts/{second}/promotions", {"code": "SHORT"}), 409, "promotion_expired",
                     "code")
    assert env.ok(env.get("/v1/promotions/SPRING"))["redemptions"] == 1


def test_auto_renew_needs_a_card_of_the_account(env: Env) -> None:
    acc, other = env.account()["id"], env.account()["id"]
    foreign = env.card(other)
    path = f"/v1/accounts/{acc}/subscription/auto-renew"
    with unchanged(env, acc):
        assert_error(env.post(path, {"enabled": True}), 409, "payment_method_required", "payment_method_id")
        assert_error(env.post(path, {"enabled": True, "payment_method_id": foreign}), 404,
                     "payment_method_not_found", "payment_method_id")
        assert_error(env.post(path, {"enabled": "yes"}), 422, "invalid_parameter", "enabled")
        assert_error(env.post(path, {"enabled": False, "payment_method_id": foreign}), 422, "invalid_parameter",
                     "payment_method_id")
    card = env.card(acc)
    assert env.ok(env.post(path, {"enabled": True}))["payment_method_id"] == card
    assert env.ok(env.post(path, {"enabled": False}))["auto_renew"] is False
