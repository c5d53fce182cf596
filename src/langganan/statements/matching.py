"""Which invoice a statement's credit line pays (pure: the candidates are handed in).

In order: a virtual account number written in the line's description names its payment (and so its
invoice); else an invoice number (`INV/2026/11/00042`, also written with spaces or dashes, or none:
`INV 2026 11 42`, `INV-2026-11-00042`) names its invoice; else the line's amount equals the total of
exactly one open invoice (`ambiguous` when several, `no_match` when none). Whether the invoice is already
paid is the applier's to see when it gets there (an earlier line of the same file may have paid it).
Amount matching comes last for the whole file: an invoice named by a VA or number on any line is not
guessed for another line by its amount, and an invoice guessed once is not guessed again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

INVOICE_NUMBER = re.compile(r"INV[\s/\-_.]*(\d{4})[\s/\-_.]*(\d{2})[\s/\-_.]*(\d{1,9})(?!\d)", re.IGNORECASE)
DIGIT_RUN = re.compile(r"\d{8,40}")


class Via(StrEnum):
    VIRTUAL_ACCOUNT = "virtual_account"
    INVOICE_NUMBER = "invoice_number"
    AMOUNT = "amount"
    HAND = "hand"  # an operator assigned it


class Verdict(StrEnum):
    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    NO_MATCH = "no_match"


@dataclass(frozen=True)
class Target:
    invoice_id: str
    payment_id: str | None = None  # the virtual account's payment, when the line named one


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    via: Via | None = None
    target: Target | None = None
    candidates: tuple[str, ...] = ()  # the invoices an ambiguous line could pay


@dataclass(frozen=True)
class Candidates:
    """What the database knows about what the lines name: payments by VA number, invoices by number,
    open invoices' ids by their total."""

    by_va: Mapping[str, Target]
    by_number: Mapping[str, Target]
    open_by_amount: Mapping[int, Sequence[str]]


def va_numbers_in(description: str) -> list[str]:
    """Every run of 8 or more digits: a VA number is one of them (the rest are amounts, references, dates)."""
    return DIGIT_RUN.findall(description)


def invoice_numbers_in(description: str) -> list[str]:
    """Invoice numbers written in the description, normalized to `INV/YYYY/MM/NNNNN`."""
    return [f"INV/{y}/{m}/{int(n):05d}" for y, m, n in INVOICE_NUMBER.findall(description)]


def _named(description: str, found: Mapping[str, Target], keys: Sequence[str]) -> list[Target]:
    out: list[Target] = []
    for key in keys:
        target = found.get(key)
        if target is not None and target not in out:
            out.append(target)
    return out


def decide(lines: Sequence[tuple[str, int]], known: Candidates) -> list[Decision]:
    """A decision for each (description, amount), in order."""
    decisions: list[Decision | None] = []
    named: set[str] = set()
    for description, _amount in lines:
        by_va = _named(description, known.by_va, va_numbers_in(description))
        by_number = _named(description, known.by_number, invoice_numbers_in(description))
        decision: Decision | None = None
        for via, targets in ((Via.VIRTUAL_ACCOUNT, by_va), (Via.INVOICE_NUMBER, by_number)):
            invoices = {t.invoice_id for t in targets}
            if len(invoices) == 1:
                decision = Decision(Verdict.MATCHED, via, targets[0])
            elif len(invoices) > 1:
                decision = Decision(Verdict.AMBIGUOUS, via, None, tuple(sorted(invoices)))
            if decision is not None:
                named |= invoices
                break
        decisions.append(decision)
    guessed: set[str] = set()
    out: list[Decision] = []
    for (_description, amount), decision in zip(lines, decisions, strict=True):
        if decision is None:
            pool = [i for i in known.open_by_amount.get(amount, ()) if i not in named and i not in guessed]
            if len(pool) == 1:
                guessed.add(pool[0])
                decision = Decision(Verdict.MATCHED, Via.AMOUNT, Target(pool[0]))
            elif pool:
                decision = Decision(Verdict.AMBIGUOUS, Via.AMOUNT, None, tuple(sorted(pool)))
            else:
                decision = Decision(Verdict.NO_MATCH)
        out.append(decision)
    return out
