"""GET /v1/reports/revenue checked against a month computed by hand."""

from __future__ import annotations

from typing import Any

from tests.conftest import Env


def _price(env: Env, plan: str, interval: str) -> int:
    answer = env.ok(env.get("/v1/plans"))
    plans = answer["data"] if isinstance(answer, dict) else answer
    prices = next(p for p in plans if p["code"] == plan)["prices"]
    return int(next(q["amount"] for q in prices if q["interval"] == interval))


def _report(env: Env, since: str, until: str) -> list[dict[str, Any]]:
    return list(env.ok(env.get(f"/v1/reports/revenue?since={since}&until={until}"))["data"])


def test_two_months_by_hand(env: Env) -> None:
    pro_year = _price(env, "pro", "year")
    growth = env.account()
    env.buy(growth["id"], "growth")  # 15 January: Rp499.000 a month, no auto-renew
    yearly = env.account()
    env.buy(yearly["id"], "pro", "year")
    env.account(start_trial=True)  # a trial counts nothing
    spender = env.account()
    env.top_up(spender["id"], "conversation", 50_000)  # collected in January
    env.ok(env.post("/v1/usage", {"id": "many", "account_id": spender["id"], "meter": "conversation_reply",
                                  "quantity": 600}), 201)  # Rp18.000: the Rp15.000 Free grant, then Rp3.000 paid
    env.advance(days=36)  # 20 February: Growth's period ended on 15 February unpaid; after 3 days' grace, Free
    jan, feb = _report(env, "2026-01", "2026-02")
    yearly_mrr = pro_year // 12
    assert jan == {"month": "2026-01", "mrr": 499_000 + yearly_mrr, "new_mrr": 499_000 + yearly_mrr,
                   "expansion_mrr": 0, "contraction_mrr": 0, "churned_mrr": 0, "paying_accounts": 2,
                   "wallet_revenue": 3_000, "top_ups_collected": 50_000, "refunds": 0}
    assert feb == {"month": "2026-02", "mrr": yearly_mrr, "new_mrr": 0, "expansion_mrr": 0, "contraction_mrr": 0,
                   "churned_mrr": 499_000, "paying_accounts": 1, "wallet_revenue": 0, "top_ups_collected": 0,
                   "refunds": 0}


def test_bad_months(env: Env) -> None:
    for query, param in (("since=2026-1&until=2026-02", "since"), ("since=2026-03&until=2026-02", "until"),
                         ("since=2020-01&until=2026-01", "until")):
        res = env.get(f"/v1/reports/revenue?{query}")
        assert res.status_code == 422 and res.json()["error"]["param"] == param, res.text
