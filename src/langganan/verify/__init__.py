"""`langganan verify`: recompute every promise the books make and report each violation with the ids
involved (DESIGN rules 1-15, API.md). Read-only; run it in any transaction.

- wallets (wallets.py): balance = ledger sum, granted part within it, each entry's balance_after follows
  from the one before, reserved = open holds, every accepted usage event debited exactly once;
- invoices (invoices.py): totals follow from lines and tax, numbers gapless per month in the seller's
  zone, content unchanged since issue (its seal), status times set, one renewal per period;
- payments (payments.py): each paid invoice covered by exactly one succeeded payment of its total, money
  received = applied + held per account and currency, each gateway notification received once;
- subscription periods (periods.py): periods never overlap, the last one is the subscription's state,
  paid time is covered by a paid invoice of that period (or a trial, a migration, a grace period that
  its lapsed renewal explains), every paid plan invoice is used once;
- credit notes (credit_notes.py): each refers to a paid invoice, never gives back more than it charged, and
  its refund is recorded (and its wallet movement in the ledger);
- events (events.py): every state change the rules announce has its event, once.
"""

from __future__ import annotations

from langganan.config import Settings
from langganan.kit.work import Work
from langganan.verify import credit_notes, events, invoices, payments, periods, wallets
from langganan.verify.violation import Violation

__all__ = ["Violation", "violations"]


def violations(session: Work, settings: Settings) -> list[Violation]:
    """Every broken invariant, in a stable order (by check, then by the ids involved)."""
    found: list[Violation] = []
    for check in (wallets.check, invoices.check, payments.check, credit_notes.check, periods.check, events.check):
        found.extend(check(session, settings))
    return found
