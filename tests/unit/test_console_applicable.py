"""Which account actions the console offers (console/applicable.py), over every combination of the facts it
decides on: the pure half. tests/api/test_console_account_actions.py checks it against the domain's refusals."""

from __future__ import annotations

from dataclasses import fields
from itertools import product

import pytest

from langganan.console.applicable import ALWAYS, AccountState, applicable

FACTS = [f.name for f in fields(AccountState)]
STATES = [AccountState(**dict(zip(FACTS, values, strict=True))) for values in product((False, True), repeat=len(FACTS))]
KNOWN = {"extend-trial", "change-plan", "cancel", "undo-cancel", "resend-invoice", "free-period", "adjust-wallet",
         "view-portal"}


def test_every_combination_is_covered() -> None:
    assert len(STATES) == 2 ** len(FACTS) == 256


@pytest.mark.parametrize("state", STATES, ids=lambda s: "".join("1" if getattr(s, f) else "0" for f in FACTS))
def test_what_is_offered_follows_the_state(state: AccountState) -> None:
    offered = applicable(state)
    assert ALWAYS <= offered <= KNOWN
    assert ("extend-trial" in offered) == state.trialing  # only a trial is extended
    assert ("undo-cancel" in offered) == state.cancel_scheduled  # only a scheduled cancel is undone
    assert not {"cancel", "undo-cancel"} <= offered  # one or the other
    assert ("cancel" in offered) == (not state.cancel_scheduled and not state.on_free)  # never Free's
    # free time lengthens a running paid period that nothing else is about to move
    assert ("free-period" in offered) == (not state.trialing and not state.on_free and not state.past_due
                                          and not state.renewal_charging and not state.paid_ahead)
    assert ("resend-invoice" in offered) == state.resendable_invoices
    if state.past_due or (state.on_free and not state.billing_complete):
        assert "change-plan" not in offered
    else:
        assert "change-plan" in offered


def test_a_free_account_is_offered_neither_cancel_nor_free_time() -> None:
    free = AccountState(trialing=False, on_free=True, past_due=False, cancel_scheduled=False,
                        renewal_charging=False, paid_ahead=False, resendable_invoices=True)
    assert applicable(free) == {"change-plan", "resend-invoice", "adjust-wallet", "view-portal"}
