"""Revenue figures as pure rules: a subscription's monthly recurring revenue, and how MRR moved over a month.

MRR counts a subscription on a paid plan that is paid for (its history row is `paid`, `migrated` or, for
subscriptions older than the history, `opening` on a paid plan) at its catalog price per month: a yearly price
divided by 12, rounded down to the rupiah. A trial, the Free plan and the grace period after an unpaid period
end count nothing. Promotions do not lower MRR here (the list price; the discount shows on the invoices).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# history kinds in MRR: free time an operator gave ("comp") stays in it, as a discount does (MRR ignores both)
COUNTED = frozenset({"paid", "migrated", "opening", "comp"})


def monthly(price: int, interval: str) -> int:
    """The monthly equivalent of a price per `interval`."""
    return price // 12 if interval == "year" else price


@dataclass(frozen=True)
class Movement:
    """How MRR moved between two instants, from each subscription's MRR at both (new + expansion −
    contraction − churned = end − start)."""

    start: int
    end: int
    new: int
    expansion: int
    contraction: int
    churned: int
    paying_accounts: int  # subscriptions with MRR at the end (one subscription per account)


def movement(before: Mapping[str, int], after: Mapping[str, int]) -> Movement:
    new = expansion = contraction = churned = 0
    for sub in before.keys() | after.keys():
        was, now = before.get(sub, 0), after.get(sub, 0)
        if was == 0 and now > 0:
            new += now
        elif was > 0 and now == 0:
            churned += was
        elif now > was:
            expansion += now - was
        elif now < was:
            contraction += was - now
    return Movement(start=sum(before.values()), end=sum(after.values()), new=new, expansion=expansion,
                    contraction=contraction, churned=churned,
                    paying_accounts=sum(1 for v in after.values() if v > 0))
