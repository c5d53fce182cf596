"""Pure payment rules (no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Settlement:
    """What a transfer does to an invoice that waits for money: `pays` it (then `surplus` is held as an
    overpayment), or is held as one more underpayment."""

    pays: bool
    surplus: int = 0


def settle(total: int, held: Sequence[int], amount: int) -> Settlement:
    """A transfer of `amount` arrives for an invoice of `total` while `held` underpayments of it wait
    (rule 10: apply what can be applied): together they pay it once they cover it, and only what goes
    beyond the total is held; short of it, the transfer is held with them."""
    have = sum(held) + amount
    if have >= total:
        return Settlement(True, have - total)
    return Settlement(False)
