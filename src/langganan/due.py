"""The due-work runner: everything that happens because time passed, found from due-date columns.

Used by `serve`'s in-process worker, `langganan worker` and the sandbox clock. Each item is claimed
under a row lock (SKIP LOCKED on PostgreSQL) and re-checked, so running it twice or from two
workers does nothing twice. Card charges happen between transactions: the pending payment is
committed first, the gateway is called with the payment id as idempotency key, and the outcome is
recorded in a transaction of its own (rule 11).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from langganan.config import Settings
from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.kit.clock import Clock
from langganan.kit.db import Database
from langganan.kit.errors import PaymentRequired
from langganan.payments import service as payments
from langganan.payments.gateway import Gateway
from langganan.subscriptions import lifecycle
from langganan.wallets import repository as wallets_repo
from langganan.wallets import reservations

BATCH = 200
T = TypeVar("T")


@dataclass
class DueReport:
    invoices_expired: int = 0
    reservations_expired: int = 0
    charges: int = 0
    steps: Counter[str] = field(default_factory=Counter)  # subscription agenda steps by kind

    @property
    def periods_rolled(self) -> int:
        return self.steps["period_end"] + self.steps["grace_end"]

    @property
    def total(self) -> int:
        return self.invoices_expired + self.reservations_expired + self.charges + sum(self.steps.values())


class Runner(Protocol):
    """What due work needs (an AppContext has it): the database, the engine clock, configuration
    and the gateway."""

    db: Database
    clock: Clock
    settings: Settings
    gateway: Gateway


def _expire_invoices(session: Session, now: datetime) -> int:
    count = 0
    for invoice in invoices_repo.due_to_expire(session, now, BATCH):
        assert invoice.expires_at is not None
        invoices.expire(session, invoice, invoice.expires_at)
        payments.expire_pending(session, invoice, invoice.expires_at)
        count += 1
    return count


def _each(session: Session, rows: Sequence[T], step: Callable[[Session, T], None]) -> int:
    """Apply `step` to each claimed row inside its own savepoint."""
    for row in rows:
        with session.begin_nested():
            step(session, row)
    return len(rows)


def _release_reservations(session: Session, now: datetime) -> int:
    return _each(session, wallets_repo.expired_reservations(session, now, BATCH), reservations.expire)


def _charge(runner: Runner, charge: lifecycle.Charge) -> None:
    # A decline is recorded as a failed payment; the subscription moved on to its retry or to Free.
    with suppress(PaymentRequired):
        payments.charge_card(runner.db, runner.gateway, charge.payment_id, lambda _s: charge.at)


def run_due(runner: Runner) -> DueReport:
    """Run everything due at the engine clock's now, repeatedly, until nothing is left."""
    report = DueReport()
    skip: set[str] = set()  # subscriptions whose step failed in this run (logged; retried next run)
    while True:
        with runner.db.transaction() as session:
            now = runner.clock.now(session)
            expired = _expire_invoices(session, now)
        before = sum(report.steps.values())
        with runner.db.transaction() as session:
            charges = lifecycle.run_batch(session, runner.settings, runner.gateway, now, runner.settings.due_batch,
                                          skip, report.steps)
        with runner.db.transaction() as session:
            charges += lifecycle.reclaim_stale_charges(session, runner.settings, BATCH)
        for charge in charges:
            _charge(runner, charge)
        with runner.db.transaction() as session:
            released = _release_reservations(session, now)
        report.invoices_expired += expired
        report.reservations_expired += released
        report.charges += len(charges)
        if not (expired or released or charges or sum(report.steps.values()) > before):
            return report
