"""Wallet rules without a database: the credit order (DESIGN rule 6) and the seed's top-up limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.kit.errors import Unprocessable
from langganan.wallets.rules import check_top_up, granted_part, released_granted
from tests.unit.support import assert_sentence

BROADCAST = 650  # Rp650 a broadcast message


def test_granted_credit_is_spent_before_paid_credit() -> None:
    assert granted_part(15_000, 30) == 30  # a reply paid from the free credit
    assert granted_part(15_000, 15_000) == 15_000
    assert granted_part(20, 30) == 20  # the last Rp20 of free credit, Rp10 paid
    assert granted_part(0, 30) == 0  # only paid credit left


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_paid_credit_is_touched_only_when_the_granted_credit_is_used_up(granted: int, amount: int) -> None:
    from_granted = granted_part(granted, amount)
    from_paid = amount - from_granted
    assert 0 <= from_granted <= granted and 0 <= from_paid <= amount
    assert from_paid == 0 or from_granted == granted


def test_delivered_messages_take_the_held_granted_credit_first() -> None:
    # 10 broadcasts held (Rp6.500): Rp5.000 of it granted. 4 delivered (Rp2.600) came out of the granted part,
    # so of the Rp3.900 given back, Rp2.400 is granted credit and Rp1.500 paid.
    assert released_granted(5_000, 4 * BROADCAST) == 2_400
    assert released_granted(5_000, 0) == 5_000  # released whole: all the granted part comes back
    assert released_granted(2_000, 4 * BROADCAST) == 0  # the delivered ones used it all
    assert released_granted(2_600, 4 * BROADCAST) == 0
    assert released_granted(0, 0) == 0  # held from paid credit only


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 1000), st.data())
def test_a_reservation_gives_back_what_was_not_delivered_in_the_credit_order(quantity: int,
                                                                            data: st.DataObject) -> None:
    held = quantity * BROADCAST
    held_granted = granted_part(data.draw(st.integers(0, 2 * held)), held)
    captured = data.draw(st.integers(0, quantity)) * BROADCAST
    back, back_granted = held - captured, released_granted(held_granted, captured)
    assert 0 <= back_granted <= min(back, held_granted)
    # what the delivered messages used, granted first, and what comes back add up to what was held
    used_granted = min(held_granted, captured)
    assert used_granted + back_granted == held_granted
    assert (captured - used_granted) + (back - back_granted) == held - held_granted


@pytest.mark.parametrize(("wallet", "amount"), [
    ("conversation", 30_000), ("conversation", 1_000_000), ("conversation", 250_000),
    ("broadcast", 10_000), ("broadcast", 5_000_000),
])
def test_top_ups_within_the_limits_are_allowed_both_ends_included(wallet: str, amount: int) -> None:
    check_top_up(wallet, amount)


@pytest.mark.parametrize(("wallet", "amount", "code", "message"), [
    ("conversation", 29_999, "amount_below_minimum", "The minimum conversation top-up is Rp30.000."),
    ("conversation", 0, "amount_below_minimum", "The minimum conversation top-up is Rp30.000."),
    ("conversation", 1_000_001, "amount_above_maximum", "The maximum conversation top-up is Rp1.000.000."),
    ("broadcast", 9_999, "amount_below_minimum", "The minimum broadcast top-up is Rp10.000."),
    ("broadcast", 5_000_001, "amount_above_maximum", "The maximum broadcast top-up is Rp5.000.000."),
])
def test_top_ups_outside_the_limits_are_refused_with_the_limit(wallet: str, amount: int, code: str,
                                                               message: str) -> None:
    with pytest.raises(Unprocessable) as err:
        check_top_up(wallet, amount)
    assert (err.value.status, err.value.code, err.value.param) == (422, code, "amount")
    assert err.value.message == message


def test_a_top_up_of_an_unknown_wallet_is_refused() -> None:
    with pytest.raises(Unprocessable) as err:
        check_top_up("sms", 50_000)
    assert (err.value.status, err.value.code, err.value.param) == (422, "invalid_wallet", "wallet")
    assert "'conversation' or 'broadcast'" in err.value.message
    assert_sentence(err.value.message)
