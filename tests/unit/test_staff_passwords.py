"""Console staff passwords: importing the console costs no scrypt run (start-up stays fast); the
stand-in hash for unknown emails is made once, on first use."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import hashlib
calls = []
real = hashlib.scrypt
def counting(*args, **kwargs):
    calls.append(1)
    return real(*args, **kwargs)
hashlib.scrypt = counting
import langganan.app  # everything serve imports
from langganan.console import service
assert calls == [], "scrypt ran at import"
first = service._dummy_hash()
assert service._dummy_hash() == first and len(calls) == 1, calls
assert not service.verify_password("guess", first)
print("ok")
"""


def test_the_stand_in_hash_is_made_on_first_use_not_at_import() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
