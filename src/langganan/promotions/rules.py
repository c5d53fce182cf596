"""Promotion rules (DESIGN rule 8) as pure functions: what a period's plan line is discounted by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from langganan.invoices.rules import Line
from langganan.kit.money import format_money, round_half_up
from langganan.kit.periods import add_months_anchored, anchor_day_of

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")


@dataclass(frozen=True)
class Terms:
    """An active redemption: the discount and until when a period must start to get it."""

    code: str
    percent_off: int | None
    amount_off: int | None
    currency: str
    plans: tuple[str, ...]
    ends_at: datetime

    @property
    def label(self) -> str:
        if self.percent_off is not None:
            return f"{self.percent_off}% off"
        # part of a discount line's description, kept on issued invoices: written as it always was
        return f"{format_money(self.amount_off or 0, self.currency, 'id')} off"


def normalise_code(code: str) -> str:
    return code.strip().upper()


def discount(terms: Terms | None, plan_code: str, price: int, period_start: datetime) -> int:
    """The discount on a plan price for a period starting at `period_start`: only eligible plans,
    only periods that start before the promotion's end, never more than the price."""
    if terms is None or plan_code not in terms.plans or period_start >= terms.ends_at or price <= 0:
        return 0
    if terms.percent_off is not None:
        off = round_half_up(Fraction(price * terms.percent_off, 100))
    else:
        off = terms.amount_off or 0
    return max(0, min(price, off))


def discount_line(terms: Terms, amount: int) -> Line:
    return Line("discount", f"Promotion {terms.code} ({terms.label})", 1, -amount, -amount)


def plan_lines(plan_line: Line, terms: Terms | None, plan_code: str, period_start: datetime) -> tuple[list[Line], int]:
    """The plan line, its discount line if any, and what is actually paid for the plan."""
    off = discount(terms, plan_code, plan_line.amount, period_start)
    lines = [plan_line] if off == 0 or terms is None else [plan_line, discount_line(terms, off)]
    return lines, plan_line.amount - off


def redemption_end(ends_at: datetime | None, duration_months: int | None, redeemed_at: datetime, tz: str) -> datetime:
    """A fixed end date, or `duration_months` after the redemption (same local day and time)."""
    if ends_at is not None:
        return ends_at
    assert duration_months is not None
    return add_months_anchored(redeemed_at, duration_months, anchor_day_of(redeemed_at, tz), tz)
