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


def auto_top_up_amount(balance: int, threshold: int, target: int, limits: tuple[int, int], month_total: int,
                       monthly_cap: int | None) -> int | None:
    """How much an auto top-up charges now: back up to `target` from a balance below `threshold`, within the
    top-up limits (raised to the minimum, cut to the maximum) and what is left of the monthly cap; None when
    nothing is due or the cap leaves less than the minimum."""
    if balance >= threshold:
        return None
    low, high = limits
    amount = min(max(target - balance, low), high)
    if monthly_cap is not None:
        amount = min(amount, monthly_cap - month_total)
    return amount if amount >= low else None
