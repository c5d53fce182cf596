"""A year of simulated time through the sandbox clock, per lifecycle path (issue 4): renewals by card
and by bank transfer, dunning to Free, trials, promotions. Each asserts the invoices (numbers,
totals, statuses), the plan, the exact lifecycle events emitted and the books (`langganan verify`).
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Env

WIB = "+07:00"
GOOD, DECLINED = "4242424242424242", "4000000000000002"
# The events a customer would be told about (wallet and payment bookkeeping aside).
KEEP = ("invoice.", "payment.succeeded", "payment.failed", "subscription.", "trial.", "promotion.")
PAID_RENEWAL_BY_CARD = ["invoice.created", "payment.succeeded", "invoice.paid", "subscription.renewal_paid",
                        "subscription.renewed"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def wib(day: str, time: str = "10:00") -> str:
    return f"{day}T{time}:00{WIB}"


def lifecycle_events(env: Env, account_id: str) -> list[str]:
    return [t for t in env.event_types(account_id) if t.startswith(KEEP)]


def invoices(env: Env, account_id: str) -> list[tuple[str, str, str, int]]:
    """(number, type, status, total) oldest first."""
    rows = env.ok(env.get(f"/v1/invoices?account_id={account_id}&limit=100"))["data"]
    return [(i["number"], i["type"], i["status"], i["total"]) for i in reversed(rows)]


def buy_by_card(env: Env, account_id: str, plan: str, card: str) -> dict[str, Any]:
    res = env.ok(env.post(f"/v1/accounts/{account_id}/subscription/change",
                          {"plan": plan, "payment_method": "card", "payment_method_id": card}))
    return dict(res["invoice"])


def auto_renew(env: Env, account_id: str, card: str | None, enabled: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"enabled": enabled}
    if card:
        body["payment_method_id"] = card
    return dict(env.ok(env.post(f"/v1/accounts/{account_id}/subscription/auto-renew", body)))


def renewal_of(env: Env, account_id: str, period_start: str) -> dict[str, Any]:
    rows = env.ok(env.get(f"/v1/invoices?account_id={account_id}&type=renewal&limit=100"))["data"]
    found = [i for i in rows if at(i["period_start"]) == at(period_start) and i["status"] != "canceled"]
    assert len(found) == 1, found
    return dict(found[0])


def months(first: int, last: int, year: int = 2026) -> list[str]:
    out = []
    for n in range(first, last + 1):
        y, m = year + (n - 1) // 12, (n - 1) % 12 + 1
        out.append(f"{y:04d}-{m:02d}")
    return out


# -- card ------------------------------------------------------------------------------------------

def test_card_auto_renew_for_a_year_with_a_decline_then_recovery(env: Env) -> None:
    acc = env.account()["id"]
    good, bad = env.card(acc, GOOD), env.card(acc, DECLINED)
    assert buy_by_card(env, acc, "growth", good)["status"] == "paid"  # Jan 15 10:00 WIB
    sub = env.subscription(acc)
    assert sub["auto_renew"] is True and sub["payment_method_id"] == good  # a card purchase renews by itself

    env.advance(to=wib("2026-02-15"))  # charged at period end
    sub = env.subscription(acc)
    assert (sub["status"], at(sub["current_period_end"])) == ("active", at(wib("2026-03-15")))

    auto_renew(env, acc, bad)
    env.advance(to=wib("2026-03-15"))  # declined: past_due on the same plan, period not extended
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"], at(sub["current_period_end"])) == ("growth", "past_due",
                                                                            at(wib("2026-03-15")))
    env.advance(to=wib("2026-03-16"))  # first retry after 1 day: declined again
    assert env.subscription(acc)["status"] == "past_due"
    auto_renew(env, acc, good)  # the customer fixes the card
    env.advance(to=wib("2026-03-17"))
    assert env.subscription(acc)["status"] == "past_due"  # next retry is 3 days after the period end
    env.advance(to=wib("2026-03-18"))
    sub = env.subscription(acc)
    # Recovered: the new period starts at the OLD period end, not at the day it was paid.
    assert sub["status"] == "active"
    assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (at(wib("2026-03-15")),
                                                                                 at(wib("2026-04-15")))
    march = renewal_of(env, acc, wib("2026-03-15"))
    assert at(march["paid_at"]) == at(wib("2026-03-18"))

    env.advance(to=wib("2027-01-15"))
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"], at(sub["current_period_end"])) == ("growth", "active",
                                                                            at(wib("2027-02-15")))
    assert invoices(env, acc) == [("INV/2026/01/00001", "subscription", "paid", 499000)] + [
        (f"INV/{m.replace('-', '/')}/00001", "renewal", "paid", 499000) for m in months(2, 13)]
    with env.db.transaction() as s:
        from sqlalchemy import func, select

        from langganan.payments.models import Payment

        by_status = dict(s.execute(select(Payment.status, func.count()).where(Payment.account_id == acc)
                                   .group_by(Payment.status)).all())
    assert by_status == {"succeeded": 13, "failed": 2}  # exactly one charge per period, plus the declines
    assert lifecycle_events(env, acc) == [
        "subscription.created", "invoice.created", "payment.succeeded", "invoice.paid", "subscription.upgraded",
        *PAID_RENEWAL_BY_CARD,  # Feb
        "subscription.auto_renew_changed",
        "invoice.created", "payment.failed", "subscription.past_due",  # Mar 15
        "payment.failed",  # Mar 16
        "subscription.auto_renew_changed",
        "payment.succeeded", "invoice.paid", "subscription.renewal_paid", "subscription.renewed",  # Mar 18
        *PAID_RENEWAL_BY_CARD * 10,  # Apr .. Jan
    ]
    env.assert_books()


def test_card_declined_on_every_attempt_fails_the_invoice_and_moves_to_free(env: Env) -> None:
    acc = env.account()["id"]
    good, bad = env.card(acc, GOOD), env.card(acc, DECLINED)
    buy_by_card(env, acc, "pro", good)
    auto_renew(env, acc, bad)
    env.advance(to=wib("2026-02-20", "09:59"))  # Feb 15 + retries on the 16th and 18th
    assert env.subscription(acc)["status"] == "past_due"
    env.advance(to=wib("2026-02-20"))  # the last retry, 5 days after the period end
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("free", "active")
    assert at(sub["current_period_start"]) == at(wib("2026-02-20"))
    assert invoices(env, acc) == [("INV/2026/01/00001", "subscription", "paid", 999000),
                                  ("INV/2026/02/00001", "renewal", "failed", 999000)]
    assert lifecycle_events(env, acc)[5:] == [
        "subscription.auto_renew_changed", "invoice.created", "payment.failed", "subscription.past_due",
        "payment.failed", "payment.failed", "payment.failed", "invoice.failed", "subscription.downgraded"]
    assert env.wallet(acc)["granted_balance"] == 15000  # Free's allotment; nothing else was touched
    env.advance(to=wib("2026-03-20"))  # Free rolls on monthly from the day it returned
    assert at(env.subscription(acc)["current_period_start"]) == at(wib("2026-03-20"))
    env.assert_books()


# -- bank transfer ---------------------------------------------------------------------------------

def test_bank_transfer_renewal_issued_ahead_with_reminders_and_paid_late_within_grace(env: Env) -> None:
    acc = env.account()["id"]
    env.buy(acc, "growth")  # Jan 15, by bank transfer: no card, so renewals are invoiced ahead
    env.advance(to=wib("2026-02-08", "09:59"))
    assert len(invoices(env, acc)) == 1
    env.advance(to=wib("2026-02-08"))  # 7 days before the period end
    renewal = renewal_of(env, acc, wib("2026-02-15"))
    assert (renewal["number"], renewal["status"], renewal["total"]) == ("INV/2026/02/00001", "unpaid", 499000)
    assert renewal["payment"]["method"] == "bank_transfer" and renewal["payment"]["va_number"]
    assert at(renewal["expires_at"]) == at(wib("2026-02-18"))  # the end of the grace period
    assert at(renewal["payment"]["va_expires_at"]) == at(wib("2026-02-18"))

    env.advance(to=wib("2026-02-15"))  # reminders on the 12th and 14th; unpaid at the end: past_due
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("growth", "past_due")
    env.advance(to=wib("2026-02-17"))
    assert env.pay_va(renewal)["outcome"] == "applied"  # paid late, within grace
    sub = env.subscription(acc)
    assert sub["status"] == "active"
    assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (at(wib("2026-02-15")),
                                                                                 at(wib("2026-03-15")))
    # The rest of the year, each renewal paid the day it is issued.
    for month in months(3, 12):
        env.advance(to=wib(f"{month}-08"))
        env.pay_va(renewal_of(env, acc, wib(f"{month}-15")))
    env.advance(to=wib("2027-01-01"))
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"], at(sub["current_period_end"])) == ("growth", "active",
                                                                            at(wib("2027-01-15")))
    assert invoices(env, acc) == [("INV/2026/01/00001", "subscription", "paid", 499000)] + [
        (f"INV/{m.replace('-', '/')}/00001", "renewal", "paid", 499000) for m in months(2, 12)]
    paid_on_issue = ["invoice.created", "payment.succeeded", "invoice.paid", "subscription.renewal_paid",
                     "subscription.renewed"]
    assert lifecycle_events(env, acc) == [
        "subscription.created", "invoice.created", "payment.succeeded", "invoice.paid", "subscription.upgraded",
        "invoice.created", "subscription.renewal_reminder", "subscription.renewal_reminder",
        "subscription.past_due", "payment.succeeded", "invoice.paid", "subscription.renewal_paid",
        "subscription.renewed",
        *paid_on_issue * 10,
    ]
    env.assert_books()


def test_bank_transfer_never_paid_moves_to_free_after_grace_and_a_late_payment_is_held(env: Env) -> None:
    acc = env.account()["id"]
    env.buy(acc, "pro")
    env.advance(to=wib("2026-02-18", "09:00"))
    assert env.subscription(acc)["status"] == "past_due"
    env.advance(to=wib("2026-02-18"))
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("free", "active")
    rows = env.ok(env.get(f"/v1/invoices?account_id={acc}&type=renewal"))["data"]
    assert [(r["number"], r["status"]) for r in rows] == [("INV/2026/02/00001", "expired")]
    renewal = rows[0]
    # Money that arrives after the grace period is recorded and held, never lost (rule 10).
    assert env.pay_va(renewal)["outcome"] == "held_late"
    assert env.subscription(acc)["plan"] == "free"
    env.advance(to=wib("2027-01-15"))
    sub = env.subscription(acc)
    assert (sub["plan"], at(sub["current_period_start"])) == ("free", at(wib("2026-12-18")))
    assert invoices(env, acc) == [("INV/2026/01/00001", "subscription", "paid", 999000),
                                  ("INV/2026/02/00001", "renewal", "expired", 999000)]
    events = lifecycle_events(env, acc)
    assert events[5:] == ["invoice.created", "subscription.renewal_reminder", "subscription.renewal_reminder",
                          "subscription.past_due", "invoice.expired", "subscription.downgraded",
                          *["subscription.period_started"] * 10]  # held, not applied: no payment.succeeded
    env.assert_books()


def test_a_scheduled_downgrade_to_a_paid_plan_renews_at_the_lower_price(env: Env) -> None:
    acc = env.account()["id"]
    env.buy(acc, "pro")
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/change", {"plan": "starter"}))
    env.advance(to=wib("2026-02-08"))
    renewal = renewal_of(env, acc, wib("2026-02-15"))
    assert (renewal["total"], renewal["package"]) == (149000, "Starter (monthly)")
    env.pay_va(renewal)
    env.advance(to=wib("2026-02-15"))
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"], sub["pending_change"]) == ("starter", "active", None)
    assert lifecycle_events(env, acc)[-2:] == ["subscription.renewed", "subscription.downgraded"]
    env.assert_books()


def test_a_downgrade_after_the_renewal_was_issued_reissues_it_at_the_lower_price(env: Env) -> None:
    acc = env.account()["id"]
    env.buy(acc, "pro")
    env.advance(to=wib("2026-02-09"))
    first = renewal_of(env, acc, wib("2026-02-15"))
    assert first["total"] == 999000
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/change", {"plan": "growth"}))
    assert env.ok(env.get(f"/v1/invoices/{first['id']}"))["status"] == "canceled"
    env.advance(hours=1)
    second = renewal_of(env, acc, wib("2026-02-15"))
    assert second["total"] == 499000 and second["id"] != first["id"]
    env.assert_books()


# -- trials ----------------------------------------------------------------------------------------

def test_trial_converted_by_a_saved_card_with_auto_renew(env: Env) -> None:
    acc = env.account(start_trial=True)["id"]  # Jan 15 -> Feb 15
    card = env.card(acc, GOOD)
    sub = auto_renew(env, acc, None)  # the account's default (first) card
    assert sub["auto_renew"] is True and sub["payment_method_id"] == card
    env.advance(to=wib("2026-02-08"))
    assert lifecycle_events(env, acc)[-1] == "trial.will_end"
    env.advance(to=wib("2026-02-15"))
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("starter", "active")
    assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (at(wib("2026-02-15")),
                                                                                 at(wib("2026-03-15")))
    env.advance(to=wib("2026-12-20"))
    assert at(env.subscription(acc)["current_period_end"]) == at(wib("2027-01-15"))
    assert invoices(env, acc) == [(f"INV/{m.replace('-', '/')}/00001", "renewal", "paid", 149000)
                                  for m in months(2, 12)]
    assert lifecycle_events(env, acc) == [
        "subscription.created", "trial.started", "subscription.auto_renew_changed", "trial.will_end",
        "invoice.created", "payment.succeeded", "invoice.paid", "subscription.renewal_paid", "trial.ended",
        "subscription.renewed", *PAID_RENEWAL_BY_CARD * 10]
    ended = env.ok(env.get(f"/v1/events?account_id={acc}&type=trial.ended"))["data"][0]["data"]
    assert ended["converted"] is True
    env.assert_books()


def test_a_canceled_trial_is_not_charged(env: Env) -> None:
    acc = env.account(start_trial=True)["id"]
    env.card(acc, GOOD)
    auto_renew(env, acc, None)
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/cancel", {"at_period_end": True}))
    env.advance(to=wib("2026-02-15"))
    assert env.subscription(acc)["plan"] == "free"
    assert invoices(env, acc) == []


def test_trial_lapses_to_free_and_an_operator_can_extend_it(env: Env) -> None:
    from tests.api.test_protocol import integration_headers

    lapsed = env.account(start_trial=True)["id"]
    extended = env.account(start_trial=True)["id"]
    path = f"/v1/accounts/{extended}/subscription/extend-trial"
    refused = env.post(path, {"days": 14}, headers=integration_headers(env))
    assert refused.status_code == 403
    assert env.post(path, {"days": 0}).status_code == 422
    sub = env.ok(env.post(path, {"days": 14}))
    assert at(sub["trial_end"]) == at(sub["current_period_end"]) == at(wib("2026-03-01"))
    assert env.post(f"/v1/accounts/{env.account()['id']}/subscription/extend-trial", {"days": 3}).json()[
        "error"]["code"] == "not_trialing"

    env.advance(to=wib("2026-02-15"))
    assert env.subscription(lapsed)["plan"] == "free"
    assert env.subscription(extended)["status"] == "trialing"
    env.advance(to=wib("2026-03-01"))
    sub = env.subscription(extended)
    assert (sub["plan"], at(sub["current_period_start"])) == ("free", at(wib("2026-03-01")))
    env.advance(to=wib("2027-01-15"))
    assert lifecycle_events(env, lapsed) == [
        "subscription.created", "trial.started", "trial.will_end", "trial.ended", "subscription.downgraded",
        *["subscription.period_started"] * 11]
    assert lifecycle_events(env, extended)[:7] == [
        "subscription.created", "trial.started", "trial.extended", "subscription.allotment_started",
        "trial.will_end", "trial.ended", "subscription.downgraded"]
    ended = env.ok(env.get(f"/v1/events?account_id={lapsed}&type=trial.ended"))["data"][0]["data"]
    assert ended["converted"] is False
    assert invoices(env, lapsed) == [] and invoices(env, extended) == []
    env.assert_books()


# -- promotions ------------------------------------------------------------------------------------

def test_promotion_discounts_periods_that_start_before_its_end_then_the_normal_price(env: Env) -> None:
    promo = env.ok(env.post("/v1/promotions", {"code": "launch20", "percent_off": 20, "plans": ["growth", "pro"],
                                               "duration_months": 3}), 201)
    assert promo["code"] == "LAUNCH20"
    acc = env.account()["id"]
    card = env.card(acc, GOOD)
    env.ok(env.post(f"/v1/accounts/{acc}/promotions", {"code": "Launch20"}), 201)  # on Free, Jan 15
    sub = env.subscription(acc)
    assert sub["promotion"]["code"] == "LAUNCH20" and sub["promotion"]["percent_off"] == 20
    assert at(sub["promotion"]["ends_at"]) == at(wib("2026-04-15"))

    first = buy_by_card(env, acc, "growth", card)
    assert (first["subtotal"], first["discount"], first["total"]) == (499000, 99800, 399200)
    assert [ln["kind"] for ln in first["lines"]] == ["plan", "discount"]
    assert first["lines"][1]["description"] == "Promotion LAUNCH20 (20% off)"
    env.advance(to=wib("2026-07-15"))
    assert env.subscription(acc)["promotion"] is None
    assert [(n, total) for n, _t, _s, total in invoices(env, acc)] == [
        ("INV/2026/01/00001", 399200), ("INV/2026/02/00001", 399200), ("INV/2026/03/00001", 399200),
        ("INV/2026/04/00001", 499000), ("INV/2026/05/00001", 499000), ("INV/2026/06/00001", 499000),
        ("INV/2026/07/00001", 499000)]
    events = lifecycle_events(env, acc)
    assert events[:7] == ["subscription.created", "promotion.redeemed", "invoice.created", "payment.succeeded",
                          "invoice.paid", "subscription.upgraded", *PAID_RENEWAL_BY_CARD[:1]]
    assert events[events.index("promotion.ending") - 5:events.index("promotion.ended") + 1] == [
        *PAID_RENEWAL_BY_CARD, "promotion.ending", "promotion.ended"]
    assert events.index("promotion.ended") < len(events) - 5  # ended on Apr 15, before that renewal
    redemptions = env.ok(env.get(f"/v1/promotions/{promo['id']}/redemptions"))["data"]
    assert [(r["status"], r["end_reason"]) for r in redemptions] == [("ended", "expired")]
    env.assert_books()


def test_upgrade_during_a_promotion_credits_what_was_paid_and_removes_it(env: Env) -> None:
    env.ok(env.post("/v1/promotions", {"code": "HALF", "percent_off": 50, "plans": ["growth"],
                                       "ends_at": "2026-12-31T00:00:00+07:00"}), 201)
    acc = env.account()["id"]
    env.ok(env.post(f"/v1/accounts/{acc}/promotions", {"code": "HALF"}), 201)
    assert env.buy(acc, "growth")["total"] == 249500
    env.advance(days=10)  # Jan 25: 21 of 31 days left
    preview = env.ok(env.post(f"/v1/accounts/{acc}/subscription/preview", {"plan": "pro"}))
    # Unused time credits what was actually paid (249.500 after 50% off), not the list price.
    assert [ln["amount"] for ln in preview["lines"]] == [-169016, 676742]  # 249500*21/31, 999000*21/31
    upgrade = env.buy(acc, "pro")
    assert upgrade["total"] == 676742 - 169016 and upgrade["discount"] == 0
    sub = env.subscription(acc)
    assert (sub["plan"], sub["promotion"]) == ("pro", None)
    env.advance(to=wib("2026-02-08"))
    assert renewal_of(env, acc, wib("2026-02-15"))["total"] == 999000  # the normal price
    assert lifecycle_events(env, acc)[-3:] == ["promotion.ended", "subscription.upgraded", "invoice.created"]
    ended = env.ok(env.get(f"/v1/events?account_id={acc}&type=promotion.ended"))["data"][0]["data"]
    assert ended["reason"] == "upgrade" and ended["code"] == "HALF"
    env.assert_books()


def test_a_downgrade_keeps_the_promotion_when_the_new_plan_is_eligible(env: Env) -> None:
    env.ok(env.post("/v1/promotions", {"code": "LOYAL", "amount_off": 100000, "plans": ["growth", "pro"],
                                       "duration_months": 6}), 201)
    acc = env.account()["id"]
    env.buy(acc, "pro")
    env.ok(env.post(f"/v1/accounts/{acc}/promotions", {"code": "LOYAL"}), 201)
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/change", {"plan": "growth"}))
    env.advance(to=wib("2026-02-08"))
    renewal = renewal_of(env, acc, wib("2026-02-15"))
    assert (renewal["subtotal"], renewal["discount"], renewal["total"]) == (499000, 100000, 399000)
    env.pay_va(renewal)
    env.advance(to=wib("2026-02-15"))
    sub = env.subscription(acc)
    assert sub["plan"] == "growth" and sub["promotion"]["code"] == "LOYAL"
    assert sub["promotion"]["amount_off"] == 100000
    env.assert_books()


def test_a_bank_renewal_issued_at_period_end_with_nothing_to_pay_renews(env: Env) -> None:
    """The renewal invoice issued ahead was canceled, and a 100% promotion came in: at period end the
    runner issues the renewal, already paid (total 0). The subscription renews; it is never past_due
    (and so never moved to Free when the grace period ends)."""
    acc = env.account()["id"]
    env.buy(acc, "growth")
    env.advance(to=wib("2026-02-09"))
    ahead = renewal_of(env, acc, wib("2026-02-15"))
    env.ok(env.post(f"/v1/invoices/{ahead['id']}/cancel"))
    env.ok(env.post("/v1/promotions", {"code": "gratis", "percent_off": 100, "plans": ["growth"],
                                       "duration_months": 3}), 201)
    env.ok(env.post(f"/v1/accounts/{acc}/promotions", {"code": "GRATIS"}), 201)
    env.advance(to=wib("2026-02-15", "11:00"))
    renewal = renewal_of(env, acc, wib("2026-02-15"))
    assert (renewal["status"], renewal["total"]) == ("paid", 0)
    sub = env.subscription(acc)
    assert (sub["plan"], sub["status"]) == ("growth", "active")
    assert at(sub["current_period_start"]) == at(wib("2026-02-15"))
    env.advance(to=wib("2026-02-20"))  # past the grace period: still on Growth
    assert (env.subscription(acc)["plan"], env.subscription(acc)["status"]) == ("growth", "active")
    events = lifecycle_events(env, acc)
    assert "subscription.past_due" not in events and "subscription.downgraded" not in events
    assert events.count("subscription.renewed") == 1
    env.assert_books()


def test_a_plan_dropped_from_the_catalog_is_not_renewed_and_moves_to_free_at_period_end(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """Rule 13: the catalog reaches a subscription at its renewal. A plan gone from the current catalog
    is not renewed (no invoice ahead, no charge); at period end the account moves to Free with reason
    `plan_retired`. The due runner never fails on it; a manual renewal is refused (409)."""
    import tomllib

    from langganan.catalog import service as catalog_service

    bank = env.account()["id"]
    env.buy(bank, "growth")
    card_acc = env.account()["id"]
    buy_by_card(env, card_acc, "growth", env.card(card_acc, GOOD))
    content = tomllib.loads(catalog_service.default_catalog_path().read_text())
    content["version"] = 2
    del content["plans"]["growth"]
    with env.db.transaction() as s:
        catalog_service.apply(s, content, env.now())
    refused = env.post(f"/v1/accounts/{bank}/subscription/renew", {})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "plan_retired"

    env.advance(to=wib("2026-02-14"))  # past the day the renewal invoice would be issued, and a reminder
    for acc in (bank, card_acc):
        assert [t for _n, t, _s, _total in invoices(env, acc)] == ["subscription"]
        assert env.subscription(acc)["plan"] == "growth"
    env.advance(to=wib("2026-02-15", "11:00"))
    for acc in (bank, card_acc):
        sub = env.subscription(acc)
        assert (sub["plan"], sub["status"], sub["catalog_version"]) == ("free", "active", 2)
        assert at(sub["current_period_start"]) == at(wib("2026-02-15"))
        assert [t for _n, t, _s, _total in invoices(env, acc)] == ["subscription"]
        downgraded = [e for e in env.ok(env.get(f"/v1/events?account_id={acc}&limit=100"))["data"]
                      if e["type"] == "subscription.downgraded"]
        assert [(e["data"]["reason"], e["data"]["previous"]["plan"]) for e in downgraded] == [
            ("plan_retired", "growth")]
        events = lifecycle_events(env, acc)
        assert "subscription.past_due" not in events and "subscription.renewal_reminder" not in events
    env.advance(to=wib("2026-03-16"))  # Free's periods roll as usual
    assert at(env.subscription(bank)["current_period_start"]) == at(wib("2026-03-15"))
    assert "due work failed" not in caplog.text
    env.assert_books()


def test_periods_keep_their_time_of_day_across_a_dst_gap(env: Env) -> None:
    """A New York customer who bought at 02:30 on Feb 8: 02:30 on Mar 8 does not exist (clocks jump to
    03:30), so that period ends at 03:30 EDT; the renewed periods after it end at 02:30 again, and the
    monthly credit follows the same times."""
    env.advance(to="2026-02-08T02:30:00-05:00")
    acc = env.account(timezone="America/New_York")["id"]
    assert buy_by_card(env, acc, "growth", env.card(acc, GOOD))["status"] == "paid"
    assert at(env.subscription(acc)["current_period_end"]) == at("2026-03-08T03:30:00-04:00")
    env.advance(to="2026-04-09T00:00:00-04:00")  # two renewals by card, the first from the shifted end
    sub = env.subscription(acc)
    assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (
        at("2026-04-08T02:30:00-04:00"), at("2026-05-08T02:30:00-04:00"))
    march = renewal_of(env, acc, "2026-03-08T03:30:00-04:00")
    assert at(march["period_end"]) == at("2026-04-08T02:30:00-04:00")
    assert env.wallet(acc)["granted_expires_at"] is not None
    assert at(env.wallet(acc)["granted_expires_at"]) == at("2026-05-08T02:30:00-04:00")
