"""Wallets, usage debit at send time, reservations and entitlements (DESIGN rules 5-7, 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

from langganan.wallets.models import Wallet
from tests.conftest import Env


def usage(env: Env, event_id: str, account_id: str, meter: str = "conversation_reply", quantity: int = 1) -> Any:
    return env.post("/v1/usage", {"id": event_id, "account_id": account_id, "meter": meter, "quantity": quantity})


def test_free_plan_grants_conversation_credit_that_expires_with_the_period(env: Env) -> None:
    acc = env.account()
    conv = env.wallet(acc["id"])
    assert (conv["balance"], conv["granted_balance"], conv["paid_balance"]) == (15000, 15000, 0)
    assert datetime.fromisoformat(conv["granted_expires_at"]) == datetime.fromisoformat("2026-02-15T10:00:00+07:00")
    assert env.wallet(acc["id"], "broadcast")["balance"] == 0
    env.top_up(acc["id"], "conversation", 30000)
    for i in range(3):
        env.ok(usage(env, f"e{i}", acc["id"]), 201)
    conv = env.wallet(acc["id"])
    assert (conv["balance"], conv["granted_balance"], conv["paid_balance"]) == (44910, 14910, 30000)
    env.advance(to="2026-02-15T10:00:00+07:00")
    conv = env.wallet(acc["id"])
    # The unspent grant expired, paid credit stayed, and the new Free period granted again.
    assert (conv["granted_balance"], conv["paid_balance"]) == (15000, 30000)
    types = [e["type"] for e in env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/transactions"
                                               "?limit=100"))["data"]]
    assert types[:2] == ["grant", "expiry"]
    env.assert_books()


def _expire_grant_unnoticed(env: Env, account_id: str) -> None:
    """The grant's end passes and no due run has written it off yet (usage is the first to touch the wallet)."""
    with env.db.transaction() as s:
        s.execute(update(Wallet).where(Wallet.account_id == account_id, Wallet.kind == "conversation")
                  .values(granted_expires_at=env.now()))


def test_usage_writes_off_an_expired_grant_before_pricing(env: Env) -> None:
    acc = env.account()
    env.top_up(acc["id"], "conversation", 30000)  # 15.000 granted + 30.000 paid
    _expire_grant_unnoticed(env, acc["id"])
    assert env.ok(usage(env, "after-expiry", acc["id"]), 201)["balance_after"] == 29970  # paid credit only
    conv = env.wallet(acc["id"])
    assert (conv["balance"], conv["granted_balance"], conv["granted_expires_at"]) == (29970, 0, None)
    entries = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/transactions?limit=2"))["data"]
    assert [(e["type"], e["amount"]) for e in entries] == [("usage", -30), ("expiry", -15000)]
    assert env.event_types(acc["id"]).count("wallet.grant_expired") == 1
    env.assert_books()


def test_an_expired_grant_leaves_nothing_to_spend_and_alerts_once_on_the_net_movement(env: Env) -> None:
    acc = env.account()  # 15.000, all granted
    _expire_grant_unnoticed(env, acc["id"])
    for event_id in ("e1", "e2"):
        rejected = usage(env, event_id, acc["id"])
        assert rejected.status_code == 402 and rejected.json()["error"]["code"] == "insufficient_balance"
    assert env.wallet(acc["id"])["balance"] == 0  # the write-off stays although the event was rejected
    types = env.event_types(acc["id"])
    assert (types.count("wallet.grant_expired"), types.count("wallet.depleted")) == (1, 1)
    env.assert_books()


def test_usage_is_debited_once_and_duplicates_replay_the_first_result(env: Env) -> None:
    acc = env.account()
    first = env.ok(usage(env, "msg-1", acc["id"]), 201)
    assert first == {"id": "msg-1", "status": "accepted", "amount": 30, "balance_after": 14970, "code": None,
                     "message": None}
    again = env.ok(usage(env, "msg-1", acc["id"]), 200)
    assert again["status"] == "duplicate" and again["balance_after"] == 14970
    conflict = usage(env, "msg-1", acc["id"], quantity=2)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "event_id_conflict"
    assert env.wallet(acc["id"])["balance"] == 14970
    env.assert_books()


def test_an_event_the_balance_cannot_cover_is_rejected_whole_and_may_be_retried(env: Env) -> None:
    acc = env.account()
    big = usage(env, "bulk", acc["id"], quantity=501)  # 15.030 > 15.000
    assert big.status_code == 402 and big.json()["error"]["code"] == "insufficient_balance"
    assert env.wallet(acc["id"])["balance"] == 15000
    env.top_up(acc["id"], "conversation", 30000)
    assert env.ok(usage(env, "bulk", acc["id"], quantity=501), 201)["balance_after"] == 45000 - 15030
    env.assert_books()


def test_batch_reports_each_event_in_order(env: Env) -> None:
    a, b = env.account(), env.account()
    events = [
        {"id": "b1", "account_id": a["id"], "meter": "conversation_reply"},
        {"id": "b2", "account_id": b["id"], "meter": "conversation_reply", "quantity": 10},
        {"id": "b1", "account_id": a["id"], "meter": "conversation_reply"},  # duplicate inside the batch
        {"id": "b3", "account_id": a["id"], "meter": "conversation_reply", "quantity": 1000},  # too much
        {"id": "b4", "account_id": a["id"], "meter": "broadcast_message"},  # Free: no broadcast quota
        {"id": "b5", "account_id": "acc_nope", "meter": "conversation_reply"},
        {"id": "b6", "account_id": a["id"], "meter": "nope"},
    ]
    results = env.ok(env.post("/v1/usage/batch", {"events": events}))["results"]
    assert [(r["id"], r["status"], r["code"]) for r in results] == [
        ("b1", "accepted", None), ("b2", "accepted", None), ("b1", "duplicate", None),
        ("b3", "rejected", "insufficient_balance"), ("b4", "rejected", "quota_exceeded"),
        ("b5", "rejected", "account_not_found"), ("b6", "rejected", "meter_not_found")]
    again = env.ok(env.post("/v1/usage/batch", {"events": events[:2]}))["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert env.wallet(a["id"])["balance"] == 14970 and env.wallet(b["id"])["balance"] == 14700
    too_many = env.post("/v1/usage/batch", {"events": [events[0]] * 1001})
    assert too_many.status_code == 422
    env.assert_books()


def test_broadcast_quota_is_enforced_even_with_balance(env: Env) -> None:
    acc = env.account(start_trial=True)  # Starter: 1.000 broadcasts a month
    env.top_up(acc["id"], "broadcast", 5_000_000)
    ok = env.ok(env.post("/v1/usage/batch", {"events": [
        {"id": f"bc{i}", "account_id": acc["id"], "meter": "broadcast_message", "quantity": 250}
        for i in range(5)]}))["results"]
    assert [r["status"] for r in ok] == ["accepted"] * 4 + ["rejected"]
    assert ok[4]["code"] == "quota_exceeded"
    ent = env.ok(env.get(f"/v1/accounts/{acc['id']}/entitlements"))
    assert ent["limits"]["broadcasts_per_month"]["used"] == 1000
    assert ent["limits"]["broadcasts_per_month"]["remaining"] == 0
    env.assert_books()


def test_top_up_limits_and_invoice(env: Env) -> None:
    acc = env.account()
    low = env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "conversation", "amount": 29999})
    high = env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "broadcast", "amount": 5_000_001})
    assert low.status_code == 422 and low.json()["error"]["code"] == "amount_below_minimum"
    assert high.status_code == 422 and high.json()["error"]["code"] == "amount_above_maximum"
    assert env.ok(env.get(f"/v1/invoices?account_id={acc['id']}"))["data"] == []
    invoice = env.top_up(acc["id"], "broadcast", 10000)
    assert invoice["type"] == "top_up" and invoice["total"] == 10000
    history = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/broadcast/transactions?type=top_up"))["data"]
    assert [(e["type"], e["amount"], e["reference"]) for e in history] == [("top_up", 10000, invoice["id"])]
    env.assert_books()


def test_reservation_hold_capture_release_and_expiry(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.top_up(acc["id"], "broadcast", 1_000_000)
    res = env.ok(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "broadcast_message",
                                               "quantity": 1000}), 201)
    wallet = env.wallet(acc["id"], "broadcast")
    assert (wallet["balance"], wallet["reserved"]) == (350000, 650000)
    captured = env.ok(env.post(f"/v1/reservations/{res['id']}/capture", {"quantity": 980}))
    assert captured["status"] == "captured"
    wallet = env.wallet(acc["id"], "broadcast")
    assert (wallet["balance"], wallet["reserved"]) == (1_000_000 - 980 * 650, 0)
    again = env.post(f"/v1/reservations/{res['id']}/release")
    assert again.status_code == 409
    short = env.ok(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "broadcast_message",
                                                 "quantity": 10, "expires_in_seconds": 60}), 201)
    env.advance(hours=1)
    assert env.wallet(acc["id"], "broadcast")["reserved"] == 0
    assert env.post(f"/v1/reservations/{short['id']}/capture", {"quantity": 1}).status_code == 409
    ent = env.ok(env.get(f"/v1/accounts/{acc['id']}/entitlements"))
    assert ent["limits"]["broadcasts_per_month"]["used"] == 980
    env.assert_books()


def test_upgrade_grants_the_credit_difference_and_yearly_plans_get_monthly_allotments(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth", "year")
    assert env.wallet(acc["id"])["granted_balance"] == 30000
    env.buy(acc["id"], "pro", "year")
    assert env.wallet(acc["id"])["granted_balance"] == 60000
    env.advance(to="2026-02-15T10:00:00+07:00")
    conv = env.wallet(acc["id"])
    assert conv["granted_balance"] == 60000
    assert datetime.fromisoformat(conv["granted_expires_at"]) == datetime.fromisoformat("2026-03-15T10:00:00+07:00")
    env.assert_books()


def test_entitlements_and_checks(env: Env) -> None:
    acc = env.account()
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 1, "contacts": 900}))
    ent = env.ok(env.get(f"/v1/accounts/{acc['id']}/entitlements"))
    assert ent["plan"] == "free"
    assert ent["limits"]["users"] == {"limit": 1, "used": 1, "remaining": 0, "resets_at": None}
    check = f"/v1/accounts/{acc['id']}/entitlements/check"
    assert env.ok(env.post(check, {"limit": "users", "quantity": 1})) == {"allowed": False, "reason": "limit_reached"}
    assert env.ok(env.post(check, {"limit": "contacts", "quantity": 100}))["allowed"] is True
    assert env.ok(env.post(check, {"feature": "chatbot"}))["allowed"] is False
    env.buy(acc["id"], "growth")
    assert env.ok(env.post(check, {"feature": "chatbot"}))["allowed"] is True
    assert env.post(check, {"feature": "teleport"}).status_code == 422


def test_daily_spend_comes_from_the_hourly_rollup_and_matches_the_ledger(env: Env) -> None:
    from sqlalchemy import func, select

    from langganan.portal.views import daily_spend
    from langganan.wallets import repository
    from langganan.wallets.models import SpendHour, Wallet, WalletEntry

    acc = env.account(timezone="Asia/Jakarta")
    env.buy(acc["id"], "growth")
    env.top_up(acc["id"], "broadcast", 100_000)
    for i in range(3):
        env.ok(usage(env, f"d1-{i}", acc["id"]), 201)  # 2026-01-15 10:00 Jakarta
    env.advance(hours=20)  # 2026-01-16 06:00 Jakarta: the next local day
    env.ok(env.post("/v1/usage/batch", {"events": [
        {"id": f"d2-{i}", "account_id": acc["id"], "meter": "conversation_reply", "quantity": 2} for i in range(4)]}))
    res = env.ok(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "broadcast_message",
                                               "quantity": 10}), 201)
    env.ok(env.post(f"/v1/reservations/{res['id']}/capture", {"quantity": 7}))  # 3 released
    now = env.now()
    with env.db.transaction() as s:
        for kind, expected_days in (("conversation", [3 * 30, 8 * 30]), ("broadcast", [0, 7 * 650])):
            wallet = s.scalars(select(Wallet).where(Wallet.account_id == acc["id"], Wallet.kind == kind)).one()
            ledger = s.scalar(select(func.coalesce(-func.sum(WalletEntry.amount), 0)).where(
                WalletEntry.wallet_id == wallet.id, WalletEntry.type.in_(repository.SPEND_TYPES)))
            rollup = s.scalar(select(func.coalesce(func.sum(SpendHour.amount), 0))
                              .where(SpendHour.wallet_id == wallet.id))
            assert rollup == ledger == sum(expected_days)
            chart = daily_spend(s, wallet, "Asia/Jakarta", now, days=3)
            assert [amount for _, amount in chart] == [0, *expected_days]


def test_a_held_broadcast_counts_towards_the_quota_alerts(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "starter")  # 1.000 broadcasts a month
    env.top_up(acc["id"], "broadcast", 1_000_000)
    env.ok(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "broadcast_message",
                                         "quantity": 900}), 201)
    alerts = [e["data"] for e in env.ok(env.get(f"/v1/events?account_id={acc['id']}&type=quota.threshold_reached"))
              ["data"]]
    assert [(a["quota"], a["threshold"], a["used"]) for a in alerts] == [("broadcasts", 80, 900)]
