"""Wallet rules as pure functions over plain values (DESIGN rule 6, the seed's top-up limits): which
credit a debit or a reservation takes, what a closed reservation gives back as granted credit, and
which top-ups are allowed.

Credit order: granted credit first (soonest expiry first), then paid credit (oldest first). A wallet
holds one window of granted credit at a time (a grant for another window first retires the old one:
`service.grant`), so "soonest expiry first" is "the granted balance first"; paid credit never expires
and is one pool, so "oldest first" has nothing to choose between.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langganan.catalog.rules import WalletKind
from langganan.kit.errors import Unprocessable

# Top-up limits per wallet (seed: conversation Rp30.000-1.000.000, broadcast Rp10.000-5.000.000).
TOP_UP_LIMITS: dict[str, tuple[int, int]] = {WalletKind.CONVERSATION: (30_000, 1_000_000),
                                             WalletKind.BROADCAST: (10_000, 5_000_000)}


def check_top_up(kind: str, amount: int) -> None:
    """A top-up is allowed for a known wallet within its limits, both ends included."""
    if kind not in TOP_UP_LIMITS:
        raise Unprocessable("invalid_wallet", "The wallet must be 'conversation' or 'broadcast'.", param="wallet")
    low, high = TOP_UP_LIMITS[kind]
    if amount < low:
        raise Unprocessable("amount_below_minimum", f"The minimum {kind} top-up is Rp{low:,}.".replace(",", "."),
                            param="amount")
    if amount > high:
        raise Unprocessable("amount_above_maximum", f"The maximum {kind} top-up is Rp{high:,}.".replace(",", "."),
                            param="amount")


def granted_part(granted_balance: int, amount: int) -> int:
    """How much of a debit or a hold of `amount` comes out of granted credit: granted first, the rest paid."""
    return min(granted_balance, amount)


def released_granted(held_granted: int, captured_amount: int) -> int:
    """The granted part of what a closed reservation gives back: the delivered messages took the held
    granted credit first (the same order as a debit), so only what is left of it returns as granted."""
    return max(0, held_granted - captured_amount)


def low_balance_threshold(wallet: Any, defaults: Mapping[str, int]) -> int:
    """The wallet's own low-balance threshold, or the deployment's for its kind (LANGGANAN_LOW_BALANCE_*)."""
    if wallet.low_balance_threshold is not None:
        return int(wallet.low_balance_threshold)
    return defaults.get(wallet.kind, 0)


# An operator's adjustment (console): at most this many rupiah at a time.
MAX_ADJUSTMENT = 100_000_000


def adjustment(balance: int, granted_balance: int, amount: int, deduct: bool) -> tuple[int, int]:
    """An operator's grant or deduction of `amount` on a wallet holding `balance` (of which
    `granted_balance` is granted credit): the signed movement and its granted part.

    A grant is paid credit (it never expires). A deduction takes paid credit first, then granted credit
    (it usually takes back an earlier grant), and never more than the balance: no overdraft (rule 6)."""
    if not 1 <= amount <= MAX_ADJUSTMENT:
        raise Unprocessable("invalid_amount", f"The amount must be a whole number of rupiah from 1 to "
                            f"{MAX_ADJUSTMENT:,}.".replace(",", "."), param="amount")
    if not deduct:
        return amount, 0
    if amount > balance:
        raise Unprocessable("amount_exceeds_balance", f"The wallet holds {balance:,}; a deduction cannot take it "
                            "below zero.".replace(",", "."), param="amount")
    paid = balance - granted_balance
    return -amount, -max(0, amount - paid)
