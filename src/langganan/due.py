"""The due-work runner: everything that happens because time passed, found from due-date columns.

Used by `serve`'s in-process worker, `langganan worker` and the sandbox clock. Each item is claimed
under a row lock (SKIP LOCKED on PostgreSQL) and re-checked, so running it twice or from two
workers does nothing twice. Card charges happen between transactions: the pending payment is
committed first, the gateway is called with the payment id as idempotency key, and the outcome is
recorded in a transaction of its own (rule 11).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from langganan import lifecycle, metrics
from langganan.config import Settings
from langganan.kit.batches import time_left
from langganan.kit.clock import Clock
from langganan.kit.db import Database, is_transient
from langganan.kit.stopping import Stopping, never
from langganan.kit.work import Work
from langganan.payments import auto_top_up, cards, credit_notes
from langganan.payments import service as payments
from langganan.payments.gateway import ChargeResult, Gateway
from langganan.subscriptions import repository as subscriptions_repo
from langganan.usage import reservations
from langganan.wallets import repository as wallets_repo

BATCH = 200
RECORD_TRIES, RECORD_PAUSE = 5, 0.5  # recording charge outcomes: tries, and the pause before the next (times tries)
log = logging.getLogger("langganan")
T = TypeVar("T")


@dataclass
class DueReport:
    invoices_swept: int = 0  # expired by the general sweep; the agendas count theirs as "invoice_expired" steps
    reservations_expired: int = 0
    charges: int = 0
    statuses_checked: int = 0  # pending gateway payments asked about (payments.check_statuses)
    cards_expiring: int = 0  # saved cards whose customers were told they expire soon
    auto_top_ups: int = 0  # wallets recharged by their auto top-up
    refunds_resumed: int = 0  # credit notes' gateway refunds whose lost answer was asked for again
    steps: Counter[str] = field(default_factory=Counter)  # subscription agenda steps by kind

    @property
    def invoices_expired(self) -> int:
        return self.invoices_swept + self.steps["invoice_expired"]

    @property
    def periods_rolled(self) -> int:
        return self.steps["period_end"] + self.steps["grace_end"]

    @property
    def total(self) -> int:
        return self.invoices_swept + self.reservations_expired + self.charges + sum(self.steps.values())


class Runner(Protocol):
    """What due work needs (an AppContext has it): the database, the engine clock, configuration
    and the gateway."""

    db: Database
    clock: Clock
    settings: Settings
    gateway: Gateway


def _expire_invoices(session: Work, now: datetime) -> int:
    """Unpaid invoices whose payment window lapsed by `now`, except those a subscription's agenda has
    still to reach: its due run expires them in turn (lifecycle.process)."""
    lapsed = subscriptions_repo.invoices_to_expire(session, now, BATCH)
    for invoice in lapsed:
        lifecycle.expire_invoice(session, invoice)
    return len(lapsed)


def _each(session: Work, rows: Sequence[T], step: Callable[[Work, T], None]) -> int:
    """Apply `step` to each claimed row inside its own savepoint."""
    for row in rows:
        with session.begin_nested():
            step(session, row)
    return len(rows)


def _release_reservations(session: Work, now: datetime) -> int:
    return _each(session, wallets_repo.expired_reservations(session, now, BATCH), reservations.expire)


def _charge_all(runner: Runner, charges: Sequence[lifecycle.Charge]) -> None:
    """Charge a batch's committed pending card payments (rule 11), batched: their details are read
    in one transaction, the gateway is called for each (the payment id is the idempotency key),
    and the outcomes are recorded in one transaction (`_record`). A charge whose
    gateway call or recording fails stays pending and is charged again with the same key after
    its lease (`lifecycle.reclaim_stale_charges`); a decline is recorded as a failed payment and the
    subscription moves on to its retry or to Free."""
    if not charges:
        return
    with runner.db.transaction() as session:
        requests = payments.charge_requests(session, [c.payment_id for c in charges])
    results: dict[str, tuple[payments.ChargeRequest, ChargeResult]] = {}
    for charge in charges:
        request = requests.get(charge.payment_id)
        if request is None:
            continue
        try:
            results[charge.payment_id] = request, payments.call_gateway(runner.gateway, request)
        except Exception:
            log.exception("gateway call failed for payment %s; retried after its lease", charge.payment_id)
    outcomes = [(c, *results[c.payment_id]) for c in charges if c.payment_id in results]
    for attempt in range(1, RECORD_TRIES + 1):
        # the gateway's answers are in hand: a database busy or unreachable for a moment is waited out here,
        # rather than charging again (with the same key) after the lease
        try:
            _record_outcomes(runner, outcomes)
            return
        except Exception as exc:
            if attempt == RECORD_TRIES or not is_transient(exc):
                raise
            log.warning("recording %d charge outcomes failed, the database was busy or unreachable (tried again): "
                        "%s", len(outcomes), str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            time.sleep(RECORD_PAUSE * attempt)


def _record_outcomes(runner: Runner,
                     outcomes: Sequence[tuple[lifecycle.Charge, payments.ChargeRequest, ChargeResult]]) -> None:
    """One transaction. Recording an outcome again changes nothing (`payments.record_charge` looks at the
    payment's status), so a transaction that may have committed before its connection was lost is tried again
    safely."""
    with runner.db.transaction() as session:
        payments.lock_for_outcomes(session, [c.payment_id for c, _request, _result in outcomes])

        def record(outcome: tuple[lifecycle.Charge, payments.ChargeRequest, ChargeResult]) -> None:
            charge, request, result = outcome
            payments.record_charge(session, runner.settings, charge.payment_id, request.amount, result, charge.at)

        def failed(outcome: tuple[lifecycle.Charge, payments.ChargeRequest, ChargeResult]) -> None:
            log.exception("recording the charge of payment %s failed; retried after its lease", outcome[0].payment_id)

        lifecycle.work_through(session, outcomes, record, what="charge outcomes", failed=failed)


def run_due(runner: Runner, stopping: Stopping = never) -> DueReport:
    """Run everything due at the engine clock's now, repeatedly, until nothing is left, or until `stopping()`
    says so between batches (SIGTERM: the batch in hand is finished, its charges made and recorded)."""
    report = DueReport()
    started = time.perf_counter()
    if stopping():
        return report
    with runner.db.transaction() as session:
        checked_at = runner.clock.now(session)
    report.statuses_checked = payments.check_statuses(runner.db, runner.settings, runner.gateway, checked_at, BATCH)
    with runner.db.transaction() as session:
        report.cards_expiring = cards.notice_expiring(session, checked_at, BATCH)
    report.auto_top_ups = auto_top_up.run(runner.db, runner.settings, runner.gateway, checked_at, BATCH)
    report.refunds_resumed = credit_notes.resume_stalled(runner.db, runner.gateway, runner.settings, checked_at,
                                                         BATCH)
    skip: set[str] = set()  # subscriptions whose step failed in this run (logged; retried next run)
    while not stopping():
        with runner.db.transaction() as session:
            now = runner.clock.now(session)
            expired = _expire_invoices(session, now)
        before = sum(report.steps.values())
        steps_before, batch_started = report.steps.copy(), time.perf_counter()
        with runner.db.transaction() as session:
            # up to `due_batch` subscriptions, fewer once the batch's time (`batch_seconds`) is up: on SQLite
            # it holds the one write lock
            charges = lifecycle.run_batch(session, runner.settings, runner.gateway, now, runner.settings.due_batch,
                                          skip, report.steps, more=time_left(runner.settings.batch_seconds))
        metrics.due_batch(time.perf_counter() - batch_started, report.steps - steps_before)  # (committed)
        with runner.db.transaction() as session:
            charges += lifecycle.reclaim_stale_charges(session, runner.settings, BATCH)
        _charge_all(runner, charges)
        with runner.db.transaction() as session:
            released = _release_reservations(session, now)
        report.invoices_swept += expired
        report.reservations_expired += released
        report.charges += len(charges)
        if not (expired or released or charges or sum(report.steps.values()) > before):
            break
    metrics.due_run(time.perf_counter() - started)
    return report
