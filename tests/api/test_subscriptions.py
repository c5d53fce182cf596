"""The subscription rules of DESIGN 1-4 over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import Env

WIB = "+07:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_new_account_is_on_free_with_a_monthly_period(env: Env) -> None:
    acc = env.account(billing=False)
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["interval"], sub["status"]) == ("free", "month", "active")
    assert at(sub["current_period_start"]) == at("2026-01-15T10:00:00+07:00")
    assert at(sub["current_period_end"]) == at("2026-02-15T10:00:00+07:00")


def test_trial_runs_one_calendar_month_once_per_email_then_returns_to_free(env: Env) -> None:
    acc = env.account(email="trial@example.id", start_trial=True)
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["status"]) == ("starter", "trialing")
    assert at(sub["trial_end"]) == at("2026-02-15T10:00:00+07:00")
    again = env.post("/v1/accounts", {"name": "Again", "email": "TRIAL@example.id", "start_trial": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "trial_already_used"

    env.advance(to="2026-02-15T10:00:00+07:00")
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["status"]) == ("free", "active")
    assert at(sub["current_period_start"]) == at("2026-02-15T10:00:00+07:00")
    assert "trial.ended" in env.event_types(acc["id"])


def test_purchase_during_trial_starts_a_new_period_at_full_price(env: Env) -> None:
    acc = env.account(start_trial=True)
    env.advance(days=5)
    invoice = env.buy(acc["id"], "starter")
    assert invoice["type"] == "subscription" and invoice["total"] == 149000 and invoice["status"] == "paid"
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["status"]) == ("starter", "active")
    assert at(sub["current_period_start"]) == at("2026-01-20T10:00:00+07:00")
    assert at(sub["current_period_end"]) == at("2026-02-20T10:00:00+07:00")


def test_upgrade_is_prorated_by_whole_days_and_keeps_the_anchor(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")  # Jan 15 10:00 WIB -> Feb 15
    env.advance(days=10)  # Jan 25
    preview = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/preview", {"plan": "pro"}))
    # 31 days in the period, 21 left counting today (Jan 25 .. Feb 14).
    assert [ln["amount"] for ln in preview["lines"]] == [-338032, 676742]  # 499000*21/31, 999000*21/31
    assert preview["amount_due"] == 338710 and preview["kind"] == "upgrade"
    assert "Unused time on Growth" in preview["lines"][0]["description"]
    assert "Remaining time on Pro" in preview["lines"][1]["description"]

    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "pro", "payment_method": "bank_transfer"}))
    assert res["invoice"]["type"] == "plan_change" and res["invoice"]["total"] == 338710
    assert env.subscription(acc["id"])["plan"] == "growth"  # switches only when paid
    env.pay_va(res["invoice"])
    sub = env.subscription(acc["id"])
    assert sub["plan"] == "pro"
    assert at(sub["current_period_start"]) == at("2026-01-15T10:00:00+07:00")
    assert at(sub["current_period_end"]) == at("2026-02-15T10:00:00+07:00")


def test_month_to_year_is_an_upgrade_and_year_to_month_waits_for_period_end(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.advance(days=10)
    inv = env.buy(acc["id"], "growth", "year")
    # Unused 21/31 of the month; remaining 355 of 365 days of the year from the same anchor.
    assert [ln["amount"] for ln in inv["lines"]] == [-338032, round(4990000 * 355 / 365)]
    sub = env.subscription(acc["id"])
    assert sub["interval"] == "year"
    assert at(sub["current_period_end"]) == at("2027-01-15T10:00:00+07:00")
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth", "interval": "month"}))
    assert res["kind"] == "downgrade" and res["invoice"] is None
    assert at(res["applies_at"]) == at("2027-01-15T10:00:00+07:00")


def test_downgrade_is_scheduled_and_refused_when_usage_does_not_fit(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "pro")
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 12, "contacts": 30000}))
    preview = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/preview", {"plan": "growth"}))
    assert preview["blocked_by"] == ["users", "contacts"]
    refused = env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "limit_exceeded"
    assert refused.json()["error"]["limits"] == ["users", "contacts"]

    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 5, "contacts": 1000}))
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))
    assert res["kind"] == "downgrade" and res["invoice"] is None
    sub = env.subscription(acc["id"])
    assert sub["plan"] == "pro"
    assert sub["pending_change"]["plan"] == "growth"
    assert at(sub["pending_change"]["applies_at"]) == at(sub["current_period_end"])


def test_renewal_extends_from_period_end_and_clears_a_pending_downgrade(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "pro")  # Jan 15 -> Feb 15
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))
    env.advance(days=20)  # Feb 4
    first = env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {"payment_method": "bank_transfer"})
    assert first.status_code == 201
    renewal = first.json()
    again = env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {"payment_method": "bank_transfer"})
    assert again.status_code == 200 and again.json()["id"] == renewal["id"]  # the open one is returned
    assert renewal["type"] == "renewal" and renewal["total"] == 999000
    assert at(renewal["period_start"]) == at("2026-02-15T10:00:00+07:00")
    assert at(renewal["period_end"]) == at("2026-03-15T10:00:00+07:00")
    env.pay_va(renewal)
    assert env.subscription(acc["id"])["pending_change"] is None
    paid_ahead = env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {"payment_method": "bank_transfer"})
    assert paid_ahead.status_code == 409 and paid_ahead.json()["error"]["code"] == "already_renewed"

    env.advance(to="2026-02-20T10:00:00+07:00")
    sub = env.subscription(acc["id"])
    assert sub["plan"] == "pro"
    assert at(sub["current_period_start"]) == at("2026-02-15T10:00:00+07:00")
    assert at(sub["current_period_end"]) == at("2026-03-15T10:00:00+07:00")
    assert "subscription.renewed" in env.event_types(acc["id"])


def test_anchor_day_31_is_kept_across_short_months(env: Env) -> None:
    env.advance(to="2026-01-31T09:00:00+07:00")
    acc = env.account()
    env.buy(acc["id"], "growth")
    ends = []
    for _ in range(3):
        renewal = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {}), 201)
        env.pay_va(renewal)
        env.advance(to=env.subscription(acc["id"])["current_period_end"])
        ends.append(at(env.subscription(acc["id"])["current_period_end"]).astimezone().date().isoformat())
    sub = env.subscription(acc["id"])
    assert at(sub["current_period_start"]) == at("2026-04-30T09:00:00+07:00")
    assert at(sub["current_period_end"]) == at("2026-05-31T09:00:00+07:00")


def test_period_ending_without_a_paid_renewal_returns_to_free_after_the_grace_period(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.advance(to="2026-02-15T10:00:00+07:00")
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["status"]) == ("growth", "past_due")
    env.advance(to="2026-02-18T09:59:00+07:00")
    assert env.subscription(acc["id"])["status"] == "past_due"
    env.advance(to="2026-02-18T10:00:00+07:00")
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["status"]) == ("free", "active")
    assert at(sub["current_period_start"]) == at("2026-02-18T10:00:00+07:00")


@pytest.mark.parametrize("at_period_end", [True, False])
def test_unsubscribe(env: Env, at_period_end: bool) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.advance(days=3)
    sub = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/cancel", {"at_period_end": at_period_end}))
    if at_period_end:
        assert sub["plan"] == "growth" and sub["cancel_at_period_end"] is True
        env.advance(to="2026-02-15T10:00:00+07:00")
        sub = env.subscription(acc["id"])
    assert sub["plan"] == "free"
    expected_start = "2026-02-15T10:00:00+07:00" if at_period_end else "2026-01-18T10:00:00+07:00"
    assert at(sub["current_period_start"]) == at(expected_start)
    assert "subscription.canceled" in env.event_types(acc["id"])


def test_cancel_replaces_a_scheduled_downgrade_and_upgrade_clears_a_cancel(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "starter"}))
    sub = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/cancel", {"at_period_end": True}))
    assert sub["pending_change"] is None and sub["cancel_at_period_end"] is True
    env.buy(acc["id"], "pro")
    sub = env.subscription(acc["id"])
    assert sub["plan"] == "pro" and sub["cancel_at_period_end"] is False


def test_a_new_plan_change_invoice_cancels_the_older_unpaid_one(env: Env) -> None:
    acc = env.account()
    first = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    second = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "pro"}))["invoice"]
    assert env.ok(env.get(f"/v1/invoices/{first['id']}"))["status"] == "canceled"
    assert env.ok(env.get(f"/v1/invoices/{second['id']}"))["status"] == "unpaid"
    # Paying the canceled one's virtual account anyway: the money is held, the plan does not change.
    assert env.pay_va(first)["outcome"] == "held_late"
    assert env.subscription(acc["id"])["plan"] == "free"


def test_catalog_change_reaches_a_subscription_at_its_next_renewal(env: Env) -> None:
    import tomllib

    from langganan.catalog import service as catalog_service

    acc = env.account()
    env.buy(acc["id"], "growth")
    content = tomllib.loads(catalog_service.default_catalog_path().read_text())
    content["version"] = 2
    content["plans"]["growth"]["prices"]["month"] = 549000
    with env.db.transaction() as s:
        catalog_service.apply(s, content, env.now())
    assert env.subscription(acc["id"])["catalog_version"] == 1  # pinned until renewal
    renewal = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {}), 201)
    assert renewal["total"] == 549000
    env.pay_va(renewal)
    env.advance(to="2026-02-15T10:00:00+07:00")
    assert env.subscription(acc["id"])["catalog_version"] == 2
