"""The revenue rules (reports/rules.py) as pure functions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from langganan.reports.rules import monthly, movement

MRR = st.dictionaries(st.sampled_from([f"sub_{i}" for i in range(12)]), st.integers(0, 10_000_000), max_size=12)


def test_monthly_equivalent() -> None:
    assert monthly(499_000, "month") == 499_000
    assert monthly(4_990_000, "year") == 415_833  # 4.990.000 / 12 = 415.833,33: rounded down to the rupiah


@given(MRR, MRR)
def test_the_movements_explain_the_change(before: dict[str, int], after: dict[str, int]) -> None:
    m = movement(before, after)
    assert m.end - m.start == m.new + m.expansion - m.contraction - m.churned
    assert min(m.new, m.expansion, m.contraction, m.churned) >= 0
    assert m.paying_accounts == sum(1 for v in after.values() if v)


def test_each_kind_of_movement() -> None:
    m = movement({"a": 100, "b": 200, "c": 300, "d": 0}, {"a": 150, "b": 120, "d": 50, "e": 70})
    assert (m.new, m.expansion, m.contraction, m.churned) == (120, 50, 80, 300)  # d and e new; c churned
    assert (m.start, m.end, m.paying_accounts) == (600, 390, 4)
