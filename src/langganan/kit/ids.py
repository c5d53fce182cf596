"""Opaque, prefixed, time-ordered ids (so `starting_after` pagination follows creation order)."""

from __future__ import annotations

import os
import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_lock = threading.Lock()
_last = [0, 0]


def _b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


_ms_text = [0, ""]  # the last millisecond and its 10 characters


def new_id(prefix: str) -> str:
    """prefix_ + 10 chars of wall milliseconds + 4 of a per-ms counter + 6 random; sortable."""
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            ms = _last[0]
            _last[1] += 1
        else:
            _last[0], _last[1] = ms, int.from_bytes(os.urandom(2), "big") % 1000
        seq = _last[1]
        if _ms_text[0] != ms:
            _ms_text[0], _ms_text[1] = ms, _b36(ms, 10)
        head = _ms_text[1]
    return f"{prefix}_{head}{_b36(seq * _RANDOM_SPAN + secrets.randbits(31), 10)}"


_RANDOM_SPAN = 36 ** 6  # the 6 random characters (31 random bits fit)
