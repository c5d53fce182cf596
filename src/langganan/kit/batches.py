"""Batches bounded by time, for background work that commits batch after batch.

A batch's transaction holds locks (on SQLite the one write lock of the whole database) while it runs,
and what one item costs varies a thousandfold: a renewal, or a subscription catching up on years of
periods; a notification with a long email. So each batch should last about a given time: it either
stops taking items once its time is up (`time_left`), or its size follows the time batches took
(`BatchSize`: the first batch is one item, each next as many as would have fit at the last one's pace,
at most twice as many). Never fewer than one item: every batch makes progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def time_left(seconds: float) -> Callable[[], bool]:
    """A batch's clock: true until `seconds` from now have passed (wall time, not the engine's)."""
    ends = time.monotonic() + seconds
    return lambda: time.monotonic() < ends


class BatchSize:
    def __init__(self, most: int, seconds: float, *, first: int = 1) -> None:
        self.most = max(1, most)
        self.seconds = seconds
        self.size = max(1, min(self.most, first))

    def took(self, seconds: float) -> None:
        """The last batch of `size` items took `seconds`: the next takes as many as would have fit,
        at most twice as many."""
        fit = int(self.size * self.seconds / seconds) if seconds > 0 else self.most
        self.size = max(1, min(self.most, 2 * self.size, fit))

    @contextmanager
    def timed(self) -> Iterator[int]:
        """The size of the next batch; the time until the block ends is what the batch took."""
        started = time.monotonic()
        yield self.size
        self.took(time.monotonic() - started)
