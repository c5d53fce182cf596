from __future__ import annotations

from tests.conftest import Env


def test_purchase_by_bank_transfer_switches_plan_when_paid(env: Env) -> None:
    acc = env.account()
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "growth", "payment_method": "bank_transfer"}))
    assert res["kind"] == "upgrade"
    assert env.subscription(acc["id"])["plan"] == "free"  # not before it is paid
    env.pay_va(res["invoice"])
    sub = env.subscription(acc["id"])
    assert sub["plan"] == "growth"
    assert sub["status"] == "active"
