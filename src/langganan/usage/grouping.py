"""Group commit for single usage events.

Every `POST /v1/usage` would otherwise pay for a whole transaction: BEGIN, the clock, the wallet
lock, the duplicate check, two inserts and a COMMIT, each a round trip, and one commit per event
caps a hot wallet at the database's commit rate. Instead, the single events that arrive in one
process while a group is being written wait for the next group, and each group is one `ingest()`
call: one transaction, one lock per wallet, one commit. The events keep their own results, in
arrival order, exactly as if they had come one by one: the pricing walk in `ingest` is per event.

At most `parallel` groups are in flight per event loop (the app uses one: see
`endpoints.grouped_ingest`). A group is cut when its writer starts, after `gather_turns` turns of
the event loop: requests that were already received, or are being read, when the first event
started the writer join it instead of queueing behind a group of one. Under load, the answers of one
group bring their callers back in a wave; cut at once, groups alternated 1, 20, 1, 20, ... (PostgreSQL,
32 clients on 2 workers: 7.7 events a group on average, and 10.7 with three turns). An idle writer
costs the first event only those few turns. A group that fails (an id raced in from another process
and broke the unique key) is retried whole by `run`; if it still fails, nothing of it was written and
its events go again one by one, so an event that cannot be stored fails only its own request; unless the
database was busy or unreachable (`kit.db.is_transient`): then every event of the group fails at once,
and each request is answered 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio.to_thread

from langganan.kit.db import is_transient

In = TypeVar("In")  # what a request hands in (an event, with the hash of the key it came with)
Out = TypeVar("Out")  # what it gets back


@dataclass
class _LoopState(Generic[In, Out]):
    pending: list[tuple[In, asyncio.Future[Out]]] = field(default_factory=list)
    running: int = 0


class GroupedIngest(Generic[In, Out]):
    def __init__(self, run: Callable[[list[In]], list[Out]], *, parallel: int = 1, max_group: int = 500,
                 gather_turns: int = 3) -> None:
        self.run = run
        self.parallel = max(1, parallel)
        self.max_group = max(1, max_group)
        self.gather_turns = gather_turns
        # one state per event loop: futures belong to the loop that made them
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[In, Out]] = \
            weakref.WeakKeyDictionary()
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, event: In) -> Out:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        future: asyncio.Future[Out] = loop.create_future()
        state.pending.append((event, future))
        if state.running < self.parallel:
            self._start(loop, state)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop, state: _LoopState[In, Out]) -> None:
        state.running += 1
        task = loop.create_task(self._write(loop, state))
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _write(self, loop: asyncio.AbstractEventLoop, state: _LoopState[In, Out]) -> None:
        try:
            for _ in range(self.gather_turns):  # requests already received join this group
                await asyncio.sleep(0)
            group, state.pending = state.pending[:self.max_group], state.pending[self.max_group:]
            if group:  # (a parallel writer may have taken them all)
                await self._settle(group)
        finally:
            state.running -= 1
            if state.pending and state.running < self.parallel:
                self._start(loop, state)

    async def _settle(self, group: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            results = await anyio.to_thread.run_sync(self.run, [event for event, _ in group])
        except Exception as exc:
            if len(group) == 1 or is_transient(exc):
                # (a database that is busy or gone would fail each event again, one wait after another:
                # the whole group is answered 503 at once)
                _fail(group, exc)
                return
            # Nothing of the group was written. Each event goes again on its own, so one that cannot be
            # stored fails only its own request, not its neighbours'.
            for item in group:
                await self._settle([item])
        except BaseException as exc:  # cancelled: every waiter learns of it
            _fail(group, exc)
            raise
        else:
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)


def _fail(group: list[tuple[In, asyncio.Future[Out]]], exc: BaseException) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(exc)
