"""Due work from several workers at once never does anything twice (issue 4, DESIGN "Time").

Two `langganan worker --once` processes on one PostgreSQL over the same due set: exactly one
renewal invoice per subscription and period, exactly one card charge per card subscription. The
same set again, run twice in one process and with a renewal charge whose worker died, on both
databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from langganan.app import make_context, open_database
from langganan.due import run_due
from langganan.events.models import Event
from langganan.invoices.models import Invoice
from langganan.kit.models import EngineClock
from langganan.payments.models import Payment
from langganan.subscriptions.models import Subscription
from langganan.web.context import AppContext
from tests.conftest import Env, make_settings

FEB_15 = datetime.fromisoformat("2026-02-15T10:00:00+07:00")
FEB_16 = datetime.fromisoformat("2026-02-16T10:00:00+07:00")


def _due_set(env: Env, n: int) -> dict[str, str]:
    """n paid Growth subscriptions ending Feb 15, half renewing by card. Returns {sub id: method}."""
    out = {}
    for i in range(n):
        acc = env.account()["id"]
        if i % 2:
            card = env.card(acc)
            env.ok(env.post(f"/v1/accounts/{acc}/subscription/change",
                            {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
            method = "card"
        else:
            env.buy(acc, "growth")
            method = "bank_transfer"
        out[env.subscription(acc)["id"]] = method
    return out


def _set_clock(env: Env, to: datetime) -> None:
    """Move the engine clock without running due work (as if every worker had been down)."""
    with env.db.transaction() as s:
        row = s.get(EngineClock, 1, with_for_update=True)
        assert row is not None
        row.frozen_at = to


def _assert_done_once(env: Env, subs: dict[str, str]) -> None:
    with env.db.transaction() as s:
        renewals = Counter(s.scalars(select(Invoice.subscription_id).where(
            Invoice.type == "renewal", Invoice.period_start == FEB_15)).all())
        charges = Counter(s.scalars(select(Invoice.subscription_id).join(Payment, Payment.invoice_id == Invoice.id)
                                    .where(Invoice.type == "renewal", Payment.method == "card")).all())
        vas = Counter(s.scalars(select(Invoice.subscription_id).join(Payment, Payment.invoice_id == Invoice.id)
                                .where(Invoice.type == "renewal", Payment.method == "bank_transfer")).all())
        rows = {sub.id: sub for sub in s.scalars(select(Subscription).where(Subscription.id.in_(list(subs))))}
        reminders = s.scalar(select(func.count()).select_from(Event)
                             .where(Event.type == "subscription.renewal_reminder"))
    assert set(renewals) == set(subs) and set(renewals.values()) == {1}
    card_subs = {sid for sid, m in subs.items() if m == "card"}
    assert set(charges) == card_subs and set(charges.values()) == {1}
    assert set(vas) == set(subs) - card_subs and set(vas.values()) == {1}
    assert reminders == 2 * (len(subs) - len(card_subs))  # two per bank-transfer renewal, none twice
    for sid, sub in rows.items():
        expected = ("active", datetime.fromisoformat("2026-03-15T10:00:00+07:00")) if sid in card_subs \
            else ("past_due", FEB_15)
        assert (sub.status, sub.current_period_end) == expected, sid


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_worker_processes_renew_each_subscription_once(env: Env) -> None:
    subs = _due_set(env, 50)
    _set_clock(env, FEB_16)
    with env.db.transaction() as s:  # the set-up's emails went out before the workers stopped: not theirs to send
        s.execute(text("UPDATE events SET dispatched_at = :at WHERE dispatched_at IS NULL"), {"at": FEB_15})
    cli = str(Path(sys.executable).with_name("langganan"))
    child_env = {**os.environ, "LANGGANAN_DATABASE_URL": env.db.url, "LANGGANAN_MODE": "sandbox",
                 "LANGGANAN_SANDBOX_GATEWAY_SECRET": env.settings.sandbox_gateway_secret,
                 "LANGGANAN_DUE_BATCH": "5"}  # small claims, so the two workers interleave
    # Both workers wait at the starting line (their first claim blocks on this lock) until both are there.
    with env.db.engine.connect() as gate:
        gate.execute(text("LOCK TABLE subscriptions IN EXCLUSIVE MODE"))
        workers = [subprocess.Popen([cli, "worker", "--once"], env=child_env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        deadline = time.monotonic() + 60
        while _waiting_on_locks(env) < 2:
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers)
            time.sleep(0.05)
        gate.rollback()
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert all("charged" in err for _out, err in outputs), outputs  # both did part of the work (their log lines)
    _assert_done_once(env, subs)
    env.assert_books()


def _waiting_on_locks(env: Env) -> int:
    with env.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")).scalar_one())


def _runner(env: Env, **overrides: Any) -> AppContext:
    settings = make_settings(env.db, **overrides)
    db = open_database(env.db.url, settings)  # its own engine, as another process would have
    return make_context(settings, db)


def test_two_runners_at_once_and_again_do_nothing_twice(env: Env) -> None:
    subs = _due_set(env, 12)
    _set_clock(env, FEB_16)
    runners = [_runner(env), _runner(env)]
    threads = [threading.Thread(target=run_due, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    again = run_due(runners[0])
    assert again.total == 0
    _assert_done_once(env, subs)
    for r in runners:
        r.db.dispose()
    env.assert_books()


def test_a_renewal_charge_whose_worker_died_is_charged_again_with_the_same_key(env: Env) -> None:
    from langganan import lifecycle
    from langganan.payments.sandbox import SandboxGateway

    subs = _due_set(env, 2)
    card_sub = next(sid for sid, m in subs.items() if m == "card")
    _set_clock(env, FEB_15)
    runner = _runner(env)
    # A lease that has run out at once: below LANGGANAN_CHARGE_LEASE_SECONDS's minimum of 1, so set unchecked.
    runner.settings = runner.settings.model_copy(update={"charge_lease_seconds": 0})
    # The worker claims and commits the pending charge, then dies before calling the gateway.
    with runner.db.transaction() as s:
        charges = lifecycle.run_batch(s, runner.settings, runner.gateway, FEB_15, 50, set(), Counter())
    assert len(charges) == 1
    calls: list[str] = []

    class Recording(SandboxGateway):
        def charge(self, **kw: Any) -> Any:
            calls.append(kw["idempotency_key"])
            return super().charge(**kw)

    runner.gateway = Recording(runner.settings.sandbox_gateway_secret)
    report = run_due(runner)
    assert report.charges == 1 and calls == [charges[0].payment_id]
    with runner.db.transaction() as s:
        sub = s.get(Subscription, card_sub)
        assert sub is not None and sub.status == "active" and sub.renewal_payment_id is None
        assert sub.current_period_start == FEB_15
    assert run_due(runner).total == 0 and len(calls) == 1
    runner.db.dispose()
    env.assert_books()


def test_a_row_claimed_with_nothing_due_leaves_with_its_real_next_date(env: Env) -> None:
    acc = env.account()
    with env.db.transaction() as s:
        sub = s.scalars(select(Subscription).where(Subscription.account_id == acc["id"])).one()
        real_next = sub.next_due_at
        s.execute(text("UPDATE subscriptions SET next_due_at = :at WHERE id = :id"),
                  {"at": sub.current_period_start, "id": sub.id})  # stale, as after an upgrade
    env.advance(hours=1)
    with env.db.transaction() as s:
        assert s.scalars(select(Subscription.next_due_at).where(Subscription.account_id == acc["id"])).one() \
            == real_next
