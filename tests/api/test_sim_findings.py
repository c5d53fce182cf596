"""Defects the engine simulation (tests/simulation) found, each kept as a regression test (issue 12).
Each runs on SQLite and PostgreSQL and ends with the books verified."""

from __future__ import annotations

from tests.conftest import Env


def _past_due_on_pro(env: Env) -> tuple[str, dict[str, object]]:
    """A Pro subscription by bank transfer whose period ended with its renewal unpaid (past due)."""
    acc = env.account()["id"]
    env.buy(acc, "pro")
    env.advance(days=31)
    assert env.subscription(acc)["status"] == "past_due"
    renewal = env.ok(env.get(f"/v1/invoices?account_id={acc}&type=renewal"))["data"][0]
    return acc, renewal


def test_a_plan_change_while_past_due_is_refused_and_the_renewal_still_explains_the_grace(env: Env) -> None:
    """Found: a downgrade while past due canceled the unpaid renewal; the grace period that followed had no
    invoice to explain it, and the account fell to Free at its end with its books unexplained."""
    acc, renewal = _past_due_on_pro(env)
    for plan, interval in (("growth", "year"), ("starter", "month"), ("pro", "year"), ("free", "month")):
        res = env.post(f"/v1/accounts/{acc}/subscription/change",
                       {"plan": plan, "interval": interval, "payment_method": "bank_transfer"})
        assert res.status_code == 409 and res.json()["error"]["code"] == "renewal_overdue", res.text
        assert renewal["number"] in res.json()["error"]["message"]
    assert env.ok(env.get(f"/v1/invoices/{renewal['id']}"))["status"] == "unpaid"
    env.advance(days=3)
    assert env.subscription(acc)["plan"] == "free"
    assert env.ok(env.get(f"/v1/invoices/{renewal['id']}"))["status"] == "expired"
    env.assert_books()


def test_paying_the_renewal_while_past_due_still_renews(env: Env) -> None:
    acc, renewal = _past_due_on_pro(env)
    env.pay_va(renewal)
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("pro", "active")
    env.assert_books()


def test_an_upgrade_paid_after_its_period_ended_is_held_not_applied(env: Env) -> None:
    """Found: an upgrade invoice paid late (after it expired and after the period it priced had ended)
    switched the plan of a subscription in its grace period and canceled its renewal."""
    acc = env.account()["id"]
    env.buy(acc, "starter")
    env.advance(days=29)  # two days before the period ends
    upgrade = env.ok(env.post(f"/v1/accounts/{acc}/subscription/change",
                              {"plan": "growth", "payment_method": "bank_transfer"}))["invoice"]
    env.advance(days=3)  # the upgrade expired with the period; the renewal is overdue
    assert env.subscription(acc)["status"] == "past_due"
    assert env.pay_va(upgrade)["outcome"] == "held_late"
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("starter", "past_due")
    env.assert_books()
