"""Auto top-up (payments/auto_top_up.py): below the threshold the worker charges the card back up to the target,
at most once per interval, within the monthly cap; a decline pauses it; never two recharges at once."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from langganan.payments import auto_top_up
from langganan.payments.rules import auto_top_up_amount
from langganan.payments.sandbox import SandboxGateway
from tests.conftest import Env

LIMITS = (30_000, 1_000_000)


@given(st.integers(0, 2_000_000), st.integers(0, 1_000_000), st.integers(1, 1_000_000), st.integers(0, 3_000_000),
       st.one_of(st.none(), st.integers(30_000, 3_000_000)))
def test_the_amount_stays_within_limits_and_the_cap(balance: int, threshold: int, target: int, month: int,
                                                    cap: int | None) -> None:
    amount = auto_top_up_amount(balance, threshold, target, LIMITS, month, cap)
    if balance >= threshold:
        assert amount is None
    if amount is not None:
        assert LIMITS[0] <= amount <= LIMITS[1]
        assert cap is None or month + amount <= cap
        assert amount == max(target - balance, LIMITS[0]) or amount in (LIMITS[1], (cap or 0) - month)


def _spend(env: Env, account_id: str, rupiah: int, tag: str) -> None:
    env.ok(env.post("/v1/usage", {"id": f"spend-{tag}", "account_id": account_id, "meter": "conversation_reply",
                                  "quantity": rupiah // 30}), 201)


def _set(env: Env, account_id: str, **body: Any) -> dict[str, Any]:
    return dict(env.ok(env.put(f"/v1/accounts/{account_id}/wallets/conversation/auto-top-up",
                               {"enabled": True, "threshold": 20_000, "target": 100_000, **body})))


def _top_ups(env: Env, account_id: str) -> list[dict[str, Any]]:
    return list(env.ok(env.get(f"/v1/invoices?account_id={account_id}&type=top_up"))["data"])


def test_recharges_once_per_interval_within_the_cap(env: Env) -> None:
    acc = env.account()
    card = env.card(acc["id"])
    assert _set(env, acc["id"], payment_method_id=card, monthly_cap=150_000)["enabled"] is True
    _spend(env, acc["id"], 9_000, "a")  # Free's Rp15.000 grant: 6.000 left, below 20.000
    env.advance(hours=1)
    assert env.wallet(acc["id"])["balance"] == 100_000  # back up to the target: Rp94.000 charged
    (first,) = _top_ups(env, acc["id"])
    assert (first["status"], first["total"]) == ("paid", 94_000)
    _spend(env, acc["id"], 90_000, "b")  # 10.000 left
    env.advance(to=_later(env, minutes=30))  # within the interval: nothing
    assert len(_top_ups(env, acc["id"])) == 1
    env.advance(hours=1)
    assert len(_top_ups(env, acc["id"])) == 2  # the cap leaves 56.000 of the 90.000 wanted
    assert env.wallet(acc["id"])["balance"] == 10_000 + 56_000
    state = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up"))
    assert state["recharged_this_month"] == 150_000
    env.advance(hours=2)
    assert len(_top_ups(env, acc["id"])) == 2  # the cap is used up this month
    env.assert_books()


def _later(env: Env, *, minutes: int) -> str:
    from datetime import timedelta

    return (env.now() + timedelta(minutes=minutes)).isoformat()


def test_a_decline_pauses_it_until_it_is_turned_on_again(env: Env) -> None:
    acc = env.account()
    env.card(acc["id"], "4000000000000002")  # the default card declines
    _set(env, acc["id"])
    _spend(env, acc["id"], 9_000, "a")
    env.advance(hours=1)
    state = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up"))
    assert state["paused"] is True and state["recharged_this_month"] == 0
    assert "wallet.auto_top_up_paused" in env.event_types(acc["id"])
    env.advance(hours=2)
    assert len(_top_ups(env, acc["id"])) == 1  # paused: no second attempt
    good = env.card(acc["id"])
    assert _set(env, acc["id"], payment_method_id=good)["paused"] is False
    env.advance(hours=1)
    assert env.wallet(acc["id"])["balance"] == 100_000
    env.assert_books()


def test_bad_settings_are_refused(env: Env) -> None:
    acc = env.account()
    res = env.put(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up",
                  {"enabled": True, "threshold": 20_000, "target": 100_000})
    assert res.status_code == 422 and res.json()["error"]["code"] == "payment_method_required"
    env.card(acc["id"])
    res = env.put(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up",
                  {"enabled": True, "threshold": 50_000, "target": 40_000})
    assert res.status_code == 422 and res.json()["error"]["param"] == "target"
    res = env.put(f"/v1/accounts/{acc['id']}/wallets/fax/auto-top-up",
                  {"enabled": True, "threshold": 1, "target": 40_000})
    assert res.status_code == 404 and res.json()["error"]["code"] == "wallet_not_found"


def test_two_workers_at_once_start_one_recharge(env: Env) -> None:
    acc = env.account()
    env.card(acc["id"])
    _set(env, acc["id"])
    _spend(env, acc["id"], 9_000, "a")
    ctx = env.client.app.state.ctx  # type: ignore[attr-defined]
    gateway = SandboxGateway(env.settings.sandbox_gateway_secret or "")
    started: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        with env.db.transaction() as s:
            now = ctx.clock.now(s)
        started.append(auto_top_up.run(env.db, env.settings, gateway, now, 10))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(started) == [0, 1]  # one claimed the wallet and recharged it; the other found nothing to do
    assert len(_top_ups(env, acc["id"])) == 1
    assert env.wallet(acc["id"])["balance"] == 100_000
    env.assert_books()


def test_two_usage_bursts_crossing_the_threshold_at_once_make_one_recharge(env: Env) -> None:
    """Issue 16's race: two batches of usage land at the same moment, each taking the balance under the
    threshold, and two workers then look at the wallet at the same moment: one recharge, for what both spent."""
    acc = env.account()
    env.card(acc["id"])
    _set(env, acc["id"])  # below Rp20.000, back up to Rp100.000; Free's grant is Rp15.000
    ctx = env.client.app.state.ctx  # type: ignore[attr-defined]
    gateway = SandboxGateway(env.settings.sandbox_gateway_secret or "")
    with env.db.transaction() as s:
        now = ctx.clock.now(s)
    barrier = threading.Barrier(2)
    answers: list[list[str]] = []
    started: list[int] = []

    def burst(tag: str) -> None:
        events = [{"id": f"burst-{tag}-{n}", "account_id": acc["id"], "meter": "conversation_reply", "quantity": 50}
                  for n in range(4)]  # Rp6.000: 15.000 -> 9.000 alone, under the threshold
        barrier.wait()
        answers.append([r["status"] for r in env.ok(env.post("/v1/usage/batch", {"events": events}))["results"]])
        barrier.wait()  # both bursts are in; both workers start together
        started.append(auto_top_up.run(env.db, env.settings, gateway, now, 10))

    threads = [threading.Thread(target=burst, args=(tag,)) for tag in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [["accepted"] * 4] * 2  # both bursts were debited whole
    assert sorted(started) == [0, 1]  # one worker recharged; the other found the wallet claimed or recharged
    (invoice,) = _top_ups(env, acc["id"])
    assert (invoice["status"], invoice["total"]) == ("paid", 97_000)  # 100.000 less the 3.000 left
    assert env.wallet(acc["id"])["balance"] == 100_000
    env.advance(to=_later(env, minutes=30))  # within the interval: nothing more
    assert len(_top_ups(env, acc["id"])) == 1
    env.assert_books()


def test_the_portal_shows_and_sets_auto_top_up(env: Env) -> None:
    from tests.api.test_portal_security import portal_visitor

    acc = env.account(locale="en")
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal/payment").text
    assert "Auto top-up" in page and 'data-testid="att-state-conversation">Off.' in page
    no_card = v.client.post("/portal/payment/auto-top-up/conversation",
                            data={"enabled": "on", "threshold": "20000", "target": "100000", "csrf_token": v.csrf})
    assert no_card.status_code == 422 and "Save a card first" not in no_card.text  # said in the page's words
    env.card(acc["id"])
    bad = v.client.post("/portal/payment/auto-top-up/conversation",
                        data={"enabled": "on", "threshold": "50000", "target": "40000", "csrf_token": v.csrf})
    assert bad.status_code == 422 and "The target must be above the threshold" in bad.text
    done = v.client.post("/portal/payment/auto-top-up/conversation",
                         data={"enabled": "on", "threshold": "20000", "target": "100000", "csrf_token": v.csrf},
                         follow_redirects=False)
    assert done.status_code == 303
    page = v.client.get("/portal/payment").text
    assert "On: below Rp20,000, topped up to Rp100,000." in page
    state = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up"))
    assert (state["enabled"], state["threshold"], state["target"]) == (True, 20_000, 100_000)


def test_wallets_not_due_never_fill_the_batch(env: Env) -> None:
    """Only wallets below their threshold are claimed: with a batch of one, a full wallet set up first does not
    keep a low one from its recharge."""
    full = env.account()
    env.card(full["id"])
    _set(env, full["id"], threshold=1_000)  # Free's Rp15.000 grant: above the threshold, nothing due
    low = env.account()
    env.card(low["id"])
    _set(env, low["id"])
    _spend(env, low["id"], 9_000, "a")
    ctx = env.client.app.state.ctx  # type: ignore[attr-defined]
    with env.db.transaction() as s:
        now = ctx.clock.now(s)
    assert auto_top_up.run(env.db, env.settings, ctx.gateway, now, 1) == 1
    assert env.wallet(low["id"])["balance"] == 100_000 and _top_ups(env, full["id"]) == []
