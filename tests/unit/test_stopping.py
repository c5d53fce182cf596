"""kit.stopping: the first SIGTERM asks background work to stop between batches, a second ends the process; a
server's re-raised SIGTERM after its drain is an exit with status 0."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from langganan.kit.stopping import exit_zero_after, never, stop_on_signals


def test_the_first_signal_sets_the_flag_and_a_second_ends_the_process() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop):
        assert not stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()
        with pytest.raises(SystemExit) as ended:
            signal.raise_signal(signal.SIGINT)  # (Ctrl-C counts too)
        assert ended.value.code == 128 + signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) is before and not never()


def test_a_signal_raised_again_after_a_drain_exits_with_status_0() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as ended, exit_zero_after(signal.SIGTERM):
        signal.raise_signal(signal.SIGTERM)
    assert ended.value.code == 0 and signal.getsignal(signal.SIGTERM) is before
