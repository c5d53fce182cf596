"""Due work holds a lock only for its batch's time (issue 11): a batch stops taking subscriptions once
its time is up, always after at least one, and the run still works everything off, once."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from langganan import lifecycle
from langganan.due import run_due
from langganan.subscriptions.models import Subscription
from tests.conftest import Env
from tests.integration.test_due_workers import FEB_16, _assert_done_once, _due_set, _runner, _set_clock


def test_a_batch_whose_time_is_up_does_one_subscription_and_leaves_the_rest_due(env: Env) -> None:
    subs = _due_set(env, 4)
    _set_clock(env, FEB_16)
    runner = _runner(env)
    steps: Counter[str] = Counter()
    with runner.db.transaction() as s:
        lifecycle.run_batch(s, runner.settings, runner.gateway, FEB_16, 50, set(), steps, more=lambda: False)
    with runner.db.transaction() as s:
        still_due = s.scalars(select(Subscription.id).where(Subscription.next_due_at <= FEB_16,
                                                            Subscription.id.in_(list(subs)))).all()
    assert len(still_due) == 3  # one was worked off, whatever the batch's size
    assert steps["renewal_invoice"] + steps["period_end"] >= 1
    runner.db.dispose()


def test_a_run_whose_every_batch_is_out_of_time_still_does_everything_once(env: Env) -> None:
    subs = _due_set(env, 4)
    _set_clock(env, FEB_16)
    runner = _runner(env, batch_seconds=1e-9)  # every batch's time is up at once: one subscription each
    run_due(runner)
    assert run_due(runner).total == 0
    runner.db.dispose()
    _assert_done_once(env, subs)
    env.assert_books()
