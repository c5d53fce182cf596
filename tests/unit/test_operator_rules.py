"""The rules of an operator's account actions without a database: a wallet adjustment's movement and where a
paid period ends once free time is given."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.kit.errors import Unprocessable
from langganan.kit.periods import anchor_day_of
from langganan.subscriptions.rules import MAX_FREE_DAYS, free_period_end
from langganan.wallets.rules import MAX_ADJUSTMENT, adjustment
from tests.unit.support import assert_sentence


def test_a_grant_is_paid_credit_and_a_deduction_takes_paid_credit_first() -> None:
    assert adjustment(15_000, 15_000, 50_000, False) == (50_000, 0)
    assert adjustment(65_000, 15_000, 20_000, True) == (-20_000, 0)  # paid credit covers it
    assert adjustment(65_000, 15_000, 60_000, True) == (-60_000, -10_000)  # all 50.000 paid, then 10.000 free
    assert adjustment(65_000, 15_000, 65_000, True) == (-65_000, -15_000)  # down to zero exactly


@pytest.mark.parametrize(("balance", "amount", "deduct", "code"), [
    (100, 0, False, "invalid_amount"), (100, -5, True, "invalid_amount"), (100, MAX_ADJUSTMENT + 1, False,
                                                                          "invalid_amount"),
    (100, 101, True, "amount_exceeds_balance"), (0, 1, True, "amount_exceeds_balance")])
def test_a_deduction_never_overdraws_and_amounts_are_bounded(balance: int, amount: int, deduct: bool,
                                                             code: str) -> None:
    with pytest.raises(Unprocessable) as err:
        adjustment(balance, 0, amount, deduct)
    assert (err.value.code, err.value.param) == (code, "amount")
    assert_sentence(err.value.message)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.data())
def test_after_any_adjustment_the_wallet_keeps_its_invariants(balance: int, data: st.DataObject) -> None:
    granted = data.draw(st.integers(0, balance))
    amount = data.draw(st.integers(1, MAX_ADJUSTMENT))
    deduct = data.draw(st.booleans())
    if deduct and amount > balance:
        with pytest.raises(Unprocessable):
            adjustment(balance, granted, amount, deduct)
        return
    moved, granted_moved = adjustment(balance, granted, amount, deduct)
    after, granted_after = balance + moved, granted + granted_moved
    assert abs(moved) == amount and 0 <= granted_after <= after  # never below zero, free credit within it
    assert granted_moved == 0 or after == granted_after  # free credit is touched only once paid credit is gone


JAKARTA = "Asia/Jakarta"


def test_free_days_are_calendar_days_at_the_same_local_time() -> None:
    end = datetime(2026, 2, 15, 3, 0, tzinfo=UTC)  # 15 Feb 10:00 WIB
    assert free_period_end(end, 10, "month", 15, JAKARTA, time(10)) == datetime(2026, 2, 25, 3, 0, tzinfo=UTC)
    assert free_period_end(end, 365, "month", 15, JAKARTA, time(10)) == datetime(2027, 2, 15, 3, 0, tzinfo=UTC)
    # across a daylight-saving change the local time of day is kept, not the hours
    ny = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert free_period_end(ny, 14, "month", 1, "America/New_York", time(10)) == datetime(2026, 3, 15, 14, 0,
                                                                                        tzinfo=UTC)  # 10:00 EDT


def test_one_billing_period_keeps_the_anchor_day() -> None:
    end = datetime(2026, 2, 28, 3, 0, tzinfo=UTC)  # anchored on the 31st, clamped to 28 Feb
    assert free_period_end(end, None, "month", 31, JAKARTA, time(10)) == datetime(2026, 3, 31, 3, 0, tzinfo=UTC)
    assert free_period_end(end, None, "year", 31, JAKARTA, time(10)) == datetime(2027, 2, 28, 3, 0, tzinfo=UTC)
    assert anchor_day_of(free_period_end(end, 3, "month", 31, JAKARTA, time(10)), JAKARTA) == 3


@pytest.mark.parametrize("days", [0, -1, MAX_FREE_DAYS + 1])
def test_free_days_are_bounded(days: int) -> None:
    with pytest.raises(Unprocessable) as err:
        free_period_end(datetime(2026, 2, 15, 3, 0, tzinfo=UTC), days, "month", 15, JAKARTA, None)
    assert (err.value.code, err.value.param) == ("invalid_days", "days")
    assert_sentence(err.value.message)
