"""Opaque, prefixed, time-ordered ids (so `starting_after` pagination follows creation order)."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # two base-36 digits per divmod
_lock = threading.Lock()
_last = [0, 0]
_ms_text = [0, ""]  # the last millisecond and its 10 characters
_RANDOM_SPAN = 36 ** 6  # the 6 random characters (31 random bits fit)
# Randomness is read from the OS 4 KiB at a time, not with one system call per id.
_pool = memoryview(b"")
_pos = [0]


def _b36(n: int, width: int) -> str:
    """`n` in `width` base-36 digits (width even)."""
    out = []
    for _ in range(width // 2):
        n, r = divmod(n, 1296)
        out.append(_PAIRS[r])
    return "".join(reversed(out))


def _random31() -> int:
    """31 random bits from the OS's CSPRNG. Call with `_lock` held."""
    global _pool
    pos = _pos[0]
    if pos + 4 > len(_pool):
        _pool, pos = memoryview(os.urandom(4096)), 0
    _pos[0] = pos + 4
    return int.from_bytes(_pool[pos:pos + 4], "big") >> 1


def new_id(prefix: str) -> str:
    """prefix_ + 10 chars of wall milliseconds + 4 of a per-ms counter + 6 random; sortable."""
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            ms = _last[0]
            _last[1] += 1
        else:
            _last[0], _last[1] = ms, _random31() % 1000
        seq = _last[1]
        if _ms_text[0] != ms:
            _ms_text[0], _ms_text[1] = ms, _b36(ms, 10)
        head = _ms_text[1]
        tail = seq * _RANDOM_SPAN + _random31()
    return f"{prefix}_{head}{_b36(tail, 10)}"
