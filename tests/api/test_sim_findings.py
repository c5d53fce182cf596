"""Defects the engine simulation (tests/simulation) found, each kept as a regression test (issue 12).
Each runs on SQLite and PostgreSQL and ends with the books verified."""

from __future__ import annotations

from datetime import datetime, timedelta

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


def _growth_renewed_ahead(env: Env) -> tuple[str, dict[str, object]]:
    """Growth bought by card, and the next period paid ahead by card (Renew)."""
    acc = env.account()["id"]
    card = env.card(acc)
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
    renewal = env.ok(env.post(f"/v1/accounts/{acc}/subscription/renew",
                              {"payment_method": "card", "payment_method_id": card}), 201)
    assert renewal["status"] == "paid"
    return acc, renewal


def test_a_cancel_after_the_next_period_was_paid_applies_at_the_end_of_the_paid_period(env: Env) -> None:
    """Found: a cancel (or a downgrade to Free) at period end, scheduled after the next period's renewal was
    paid, moved the account to Free at the current period end: the paid period was never given."""
    acc, renewal = _growth_renewed_ahead(env)
    sub = env.ok(env.post(f"/v1/accounts/{acc}/subscription/cancel", {"at_period_end": True}))
    assert sub["cancel_at_period_end"] is True
    env.advance(days=32)
    sub = env.subscription(acc)
    assert (sub["plan"], sub["current_period_start"], sub["current_period_end"]) == \
        ("growth", renewal["lines"][0]["period_start"], renewal["lines"][0]["period_end"])
    assert sub["cancel_at_period_end"] is True
    env.advance(days=30)
    assert env.subscription(acc)["plan"] == "free"
    assert env.ok(env.get(f"/v1/invoices?account_id={acc}&type=renewal"))["data"] == [
        env.ok(env.get(f"/v1/invoices/{renewal['id']}"))]  # the paid one only: no renewal of the canceled period
    env.assert_books()


def test_a_downgrade_after_the_next_period_was_paid_applies_at_the_end_of_the_paid_period(env: Env) -> None:
    acc, renewal = _growth_renewed_ahead(env)
    res = env.ok(env.post(f"/v1/accounts/{acc}/subscription/change", {"plan": "free"}))
    assert res["applies_at"] == renewal["lines"][0]["period_end"]
    assert env.subscription(acc)["pending_change"]["applies_at"] == renewal["lines"][0]["period_end"]
    env.advance(days=32)
    assert env.subscription(acc)["plan"] == "growth"
    env.advance(days=30)
    assert env.subscription(acc)["plan"] == "free"
    env.assert_books()


def test_an_immediate_cancel_forfeits_a_period_paid_ahead_and_the_books_say_why(env: Env) -> None:
    """Rule 3: an immediate cancel refunds nothing; the paid renewal stays paid, its period never starts."""
    acc, renewal = _growth_renewed_ahead(env)
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/cancel", {"at_period_end": False}))
    env.advance(days=40)
    assert env.subscription(acc)["plan"] == "free"
    assert env.ok(env.get(f"/v1/invoices/{renewal['id']}"))["status"] == "paid"
    env.assert_books()


def test_add_ons_while_past_due_are_refused(env: Env) -> None:
    acc, _renewal = _past_due_on_pro(env)
    res = env.post(f"/v1/accounts/{acc}/add-ons", {"add_on": "additional_user", "quantity": 1})
    assert res.status_code == 409 and res.json()["error"]["code"] == "renewal_overdue", res.text
    env.assert_books()


def test_an_add_on_bought_on_the_last_day_of_a_period_costs_nothing_and_is_active_at_once(env: Env) -> None:
    """Found while adding add-ons to the simulation: on the last (partial) day no whole day is left, the
    prorated price is 0, and the invoice was issued unpaid with a virtual account for Rp0 nobody can pay."""
    acc = env.account()["id"]
    env.buy(acc, "growth")
    end = env.subscription(acc)["current_period_end"]
    env.advance(to=(datetime.fromisoformat(end) - timedelta(hours=1)).isoformat())
    invoice = env.ok(env.post(f"/v1/accounts/{acc}/add-ons", {"add_on": "additional_user", "quantity": 2}), 201)
    assert (invoice["total"], invoice["status"]) == (0, "paid")
    items = env.ok(env.get(f"/v1/accounts/{acc}/add-ons"))["data"]
    assert [(i["add_on"], i["quantity"], i["status"]) for i in items] == [("additional_user", 2, "active")]
    env.assert_books()
