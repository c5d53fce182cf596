"""The property that would have caught the catch-up defect (issue 12): one scenario, run with the clock
moved in one jump and in many small steps, ends with the same books (same invoices per period, plans,
payments, held money, wallets, ledger and events; ids and numbers aside). On PostgreSQL a third run
moves the clock without running anything, then lets two due runners at once catch up on it.

A scenario is a list of the simulation's own actions (machine.py), so each run is also checked step by
step against `langganan verify` and the reference model. `LANGGANAN_SIM_EXAMPLES` runs more of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.app import make_context, open_database
from langganan.due import run_due
from langganan.kit.db import Database
from langganan.kit.models import EngineClock
from langganan.notifications.worker import run_notifications
from tests.engine_support import books
from tests.simulation.machine import METHODS, PAID_PLANS, ZONES, EngineMachine, for_database
from tests.simulation.test_engine import EXAMPLES, sim_settings

Action = tuple[str, dict[str, Any]]
PROPERTY_SETTINGS = settings(sim_settings(), max_examples=max(1, EXAMPLES // 2))
STEP = timedelta(hours=25)  # the small steps: a little over a day, so they do not fall on the same hour

account = st.integers(0, 3)
ACTIONS = st.one_of(
    st.tuples(st.just("open_account"), st.fixed_dictionaries({"trial": st.booleans(), "tz": st.sampled_from(ZONES)})),
    st.tuples(st.just("legacy_import"), st.fixed_dictionaries({
        "months_ago": st.integers(1, 24), "plan": st.sampled_from(PAID_PLANS),
        "interval": st.sampled_from(("month", "year"))})),
    st.tuples(st.just("change_plan"), st.fixed_dictionaries({
        "key": account, "plan": st.sampled_from(("free", *PAID_PLANS)), "interval": st.sampled_from(("month", "year")),
        "method": st.sampled_from(METHODS)})),
    st.tuples(st.just("auto_renew"), st.fixed_dictionaries({
        "key": account, "on": st.booleans(), "kind": st.sampled_from(("good", "bad"))})),
    st.tuples(st.just("pay_by_transfer"), st.fixed_dictionaries({
        "key": account, "pick": st.integers(0, 5), "part": st.sampled_from(("all", "all", "short", "over")),
        "replay": st.booleans()})),
    st.tuples(st.just("cancel"), st.fixed_dictionaries({"key": account, "at_period_end": st.booleans()})),
    st.tuples(st.just("renew"), st.fixed_dictionaries({"key": account, "method": st.sampled_from(METHODS)})),
    st.tuples(st.just("top_up"), st.fixed_dictionaries({
        "key": account, "wallet": st.sampled_from(("conversation", "broadcast")),
        "method": st.sampled_from(METHODS)})),
    st.tuples(st.just("usage"), st.fixed_dictionaries({
        "key": account, "meter": st.sampled_from(("conversation_reply", "broadcast_message")),
        "quantity": st.integers(1, 300), "repeat": st.just(False)})),
    st.tuples(st.just("advance"), st.fixed_dictionaries({"days": st.integers(1, 40)})),
)
SCENARIOS = st.lists(ACTIONS, min_size=4, max_size=14)

Mover = Callable[[EngineMachine, datetime], None]


def jump(m: EngineMachine, to: datetime) -> None:
    m._advance_to(to)


def small_steps(m: EngineMachine, to: datetime) -> None:
    while m.now < to:
        m._advance_to(min(m.now + STEP, to))


def two_workers_after_an_outage(m: EngineMachine, to: datetime) -> None:
    """Every worker was down while the clock moved; then two catch up at once on the same due set."""
    with m.env.db.transaction() as s:
        row = s.get(EngineClock, 1, with_for_update=True)
        assert row is not None
        row.frozen_at = to
    runners = [make_context(m.env.settings, open_database(m.env.db.url)) for _ in range(2)]
    threads = [threading.Thread(target=run_due, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert run_due(runners[0]).total == 0  # nothing was left, and nothing is done again
    run_notifications(runners[0].db, runners[0].courier)
    for r in runners:
        r.db.dispose()
    m.model.advance(m.now, to)
    m.now = to


def run(database: Database, scenario: list[Action], move: Mover) -> dict[str, Any]:
    machine = for_database(database)()
    try:
        keys = [machine.first_account()]
        machine.books_are_right()
        for name, args in scenario:
            if name == "advance":
                move(machine, machine.now + timedelta(days=args["days"]))
            else:
                args = {**args, "key": keys[args["key"] % len(keys)]} if "key" in args else args
                made = getattr(machine, name)(**args)
                if isinstance(made, str):
                    keys.append(made)
            machine.books_are_right()
        return books(database)
    finally:
        machine.teardown()


def test_one_jump_and_many_small_steps_end_with_the_same_books(database: Database) -> None:
    movers = [jump, small_steps] + ([two_workers_after_an_outage] if database.dialect == "postgresql" else [])

    @PROPERTY_SETTINGS
    @given(SCENARIOS)
    def check(scenario: list[Action]) -> None:
        first, *others = (run(database, scenario, move) for move in movers)
        for other in others:
            assert other == first

    check()

