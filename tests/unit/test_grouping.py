"""Group commit of single usage events: who shares a transaction, and who hears of its failure."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from langganan.usage.grouping import GroupedIngest
from langganan.usage.service import UsageIn, UsageResult

T = TypeVar("T")


class GatedRunner:
    """Stands in for the database write: records each group and holds the first until released."""

    def __init__(self, fail_on: str | None = None, error: Exception | None = None) -> None:
        self.groups: list[list[str]] = []
        self.release = threading.Event()
        self.fail_on = fail_on
        self.error = error or RuntimeError("write failed")

    def __call__(self, items: list[UsageIn]) -> list[UsageResult]:
        self.groups.append([i.id for i in items])
        if len(self.groups) == 1:
            self.release.wait(5)
        if self.fail_on and any(i.id == self.fail_on for i in items):
            raise self.error
        return [UsageResult(i.id, "accepted", amount=30 * i.quantity) for i in items]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: a session-wide Playwright loop may be running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def event(n: int, quantity: int = 1) -> UsageIn:
    return UsageIn(f"e{n}", "acc", "conversation_reply", quantity)


async def _submit_while_first_runs(group: GroupedIngest, runner: GatedRunner,
                                   events: list[UsageIn]) -> list[UsageResult | BaseException]:
    first = asyncio.ensure_future(group.submit(events[0]))
    while not runner.groups:  # the first group is in the thread, holding the gate
        await asyncio.sleep(0.001)
    rest = [asyncio.ensure_future(group.submit(e)) for e in events[1:]]
    await asyncio.sleep(0.01)
    runner.release.set()
    return list(await asyncio.gather(first, *rest, return_exceptions=True))


def test_events_arriving_during_a_write_share_the_next_transaction() -> None:
    runner = GatedRunner()
    group = GroupedIngest(runner, parallel=1)
    events = [event(n, quantity=n + 1) for n in range(6)]
    results = run(_submit_while_first_runs(group, runner, events))
    assert runner.groups == [["e0"], ["e1", "e2", "e3", "e4", "e5"]]
    # each caller gets its own event's result, not a neighbour's
    assert [(r.id, r.amount) for r in results if isinstance(r, UsageResult)] == \
        [(f"e{n}", 30 * (n + 1)) for n in range(6)]


def test_groups_are_capped_and_the_rest_follow() -> None:
    runner = GatedRunner()
    group = GroupedIngest(runner, parallel=1, max_group=2)
    results = run(_submit_while_first_runs(group, runner, [event(n) for n in range(6)]))
    assert runner.groups == [["e0"], ["e1", "e2"], ["e3", "e4"], ["e5"]]
    assert all(isinstance(r, UsageResult) for r in results)


def test_a_failed_group_goes_again_event_by_event_and_fails_only_the_bad_event() -> None:
    runner = GatedRunner(fail_on="e3")
    group = GroupedIngest(runner, parallel=1, max_group=2)
    results = run(_submit_while_first_runs(group, runner, [event(n) for n in range(6)]))
    assert runner.groups == [["e0"], ["e1", "e2"], ["e3", "e4"], ["e3"], ["e4"], ["e5"]]
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [3]
    assert isinstance(results[4], UsageResult) and results[4].id == "e4"
    with pytest.raises(RuntimeError):
        raise results[3]  # type: ignore[misc]


def test_a_group_the_busy_database_refused_fails_whole_at_once() -> None:
    # event by event, each would wait for the lock again, one after another
    busy = PoolTimeout("no connection free in time")  # a transient database condition (kit.db.is_transient)
    runner = GatedRunner(fail_on="e3", error=busy)
    group = GroupedIngest(runner, parallel=1, max_group=2)
    results = run(_submit_while_first_runs(group, runner, [event(n) for n in range(6)]))
    assert runner.groups == [["e0"], ["e1", "e2"], ["e3", "e4"], ["e5"]]
    assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [3, 4]
    assert results[3] is busy and results[4] is busy


def test_parallel_groups_run_side_by_side() -> None:
    runner = GatedRunner()
    group = GroupedIngest(runner, parallel=2)
    run(_submit_while_first_runs(group, runner, [event(n) for n in range(5)]))
    # the second event starts its own group at once, and the events received with it join it
    # (the threads may record their groups in any order)
    assert sorted(runner.groups) == [["e0"], ["e1", "e2", "e3", "e4"]]


def test_events_received_while_the_writer_starts_join_its_group() -> None:
    runner = GatedRunner()
    runner.release.set()

    async def scenario(group: GroupedIngest) -> None:
        async def after_turns(n: int, turns: int) -> UsageResult:
            for _ in range(turns):
                await asyncio.sleep(0)
            return await group.submit(event(n))

        await asyncio.gather(group.submit(event(0)), after_turns(1, 1), after_turns(2, 2))

    run(scenario(GroupedIngest(runner, parallel=1)))
    assert runner.groups == [["e0", "e1", "e2"]]
    runner.groups.clear()
    run(scenario(GroupedIngest(runner, parallel=1, gather_turns=0)))  # cut at once: a group of one
    assert runner.groups == [["e0"], ["e1", "e2"]]
