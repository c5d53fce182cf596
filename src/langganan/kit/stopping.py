"""Stopping background work between batches (issue 17, "Restart and recover").

Background loops (the due runner, the notification worker) take a `stopping` function and ask it
between batches: a batch that has begun is finished (its transaction committed, its claimed card
charges made and recorded), none is begun after. `langganan worker` sets the flag from SIGTERM or
SIGINT (`stop_on_signals`); `serve`'s in-process worker from the application's shutdown. A batch
cut off harder than that (SIGKILL, a lost connection) is rolled back by the database, which releases
its row locks, and the next run claims it again.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

Stopping = Callable[[], bool]


def never() -> bool:
    """The `stopping` of work that runs to its end (the sandbox clock, a one-off run)."""
    return False


@contextmanager
def stop_on_signals(stop: threading.Event,
                    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """While the block runs (in the main thread), the first of `signals` sets `stop`; a second one ends the
    process at once (SystemExit, so open transactions roll back). The previous handlers come back after."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise SystemExit(128 + signum)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def exit_zero_after(sig: signal.Signals) -> Iterator[None]:
    """For a server that handles `sig` itself by draining and then raises it again for the handler it found
    (uvicorn does, so that the default handler kills the process): inside the block that raise ends the
    process with status 0, after the drain, as an orderly stop. Also when `sig` comes before the server
    has taken it over: nothing is served yet."""

    def handle(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(sig, handle)
    try:
        yield
    finally:
        signal.signal(sig, previous)
