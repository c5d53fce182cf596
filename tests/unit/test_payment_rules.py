"""What a transfer does to an invoice that waits for money (rule 10), without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from langganan.payments.rules import Settlement, settle

amounts = st.integers(min_value=1, max_value=10**12)


def test_rp1_short_then_the_full_amount_pays_and_leaves_total_minus_1_over() -> None:
    assert settle(499_000, [], 498_999) == Settlement(False)
    assert settle(499_000, [498_999], 499_000) == Settlement(True, 498_999)


def test_exactly_the_shortfall_pays_with_nothing_over() -> None:
    assert settle(499_000, [498_000], 1_000) == Settlement(True, 0)
    assert settle(499_000, [200_000, 200_000], 99_000) == Settlement(True, 0)
    assert settle(499_000, [200_000, 200_000], 98_999) == Settlement(False)


@given(total=amounts, held=st.lists(amounts, max_size=5), amount=amounts)
def test_money_is_applied_or_held_never_both_never_lost(total: int, held: list[int], amount: int) -> None:
    result = settle(total, held, amount)
    have = sum(held) + amount
    if result.pays:
        assert result.surplus >= 0 and total + result.surplus == have  # the total applied, the rest held
    else:
        assert have < total and result.surplus == 0  # all of it stays held, waiting for the rest
