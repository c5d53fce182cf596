"""The due-work runner: everything that happens because time passed, found from due-date columns.

Used by `serve`'s in-process worker, `langganan worker` and the sandbox clock. Each item is claimed
under a row lock (SKIP LOCKED on PostgreSQL) and re-checked, so running it twice or from two
workers does nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from langganan.invoices import repository as invoices_repo
from langganan.invoices import service as invoices
from langganan.kit.db import Database
from langganan.payments import service as payments
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.wallets import repository as wallets_repo
from langganan.wallets import reservations

BATCH = 200
T = TypeVar("T")


@dataclass
class DueReport:
    invoices_expired: int = 0
    periods_rolled: int = 0
    allotments_started: int = 0
    reservations_expired: int = 0

    @property
    def total(self) -> int:
        return self.invoices_expired + self.periods_rolled + self.allotments_started + self.reservations_expired


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


def _roll_periods(session: Session, now: datetime) -> int:
    return _each(session, subs_repo.due_period_ends(session, now, BATCH), subscriptions.roll_period)


def _roll_allotments(session: Session, now: datetime) -> int:
    return _each(session, subs_repo.due_allotments(session, now, BATCH), subscriptions.roll_allotment)


def _release_reservations(session: Session, now: datetime) -> int:
    return _each(session, wallets_repo.expired_reservations(session, now, BATCH), reservations.expire)


def run_due(db: Database, now_fn: Callable[[Session], datetime]) -> DueReport:
    report = DueReport()
    while True:
        with db.transaction() as session:
            now = now_fn(session)
            expired = _expire_invoices(session, now)
        with db.transaction() as session:
            rolled = _roll_periods(session, now)
        with db.transaction() as session:
            allotments = _roll_allotments(session, now)
        with db.transaction() as session:
            released = _release_reservations(session, now)
        report.invoices_expired += expired
        report.periods_rolled += rolled
        report.allotments_started += allotments
        report.reservations_expired += released
        if not (expired or rolled or allotments or released):
            return report
