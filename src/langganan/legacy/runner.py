"""Running an import: the caller's side of the transactions, shared by the API and the CLI.

Each row is committed on its own as soon as it is done (a long file holds no lock for long, and an
interrupted import is finished by running it again); a dry run checks every row in one transaction
that is rolled back, so a later row still sees an earlier one of the same file; on SQLite it runs on a
private copy of the database (`kit.db.snapshot`), so that transaction holds no lock anyone waits for.
A dry run defers its invoice numbers (invoices/numbering.py) and never assigns them: it takes no lock on
a month's invoice counter, so it holds up no one issuing invoices meanwhile, and its rows report no
invoice number.

Whatever goes wrong with one row, even an error nobody foresaw, is that row's `failed` result: the
rows before it stay committed and the rows after it are still imported. Except a database that is busy
or unreachable (`kit.db.is_transient`): that stops the import (the API answers 503); the rows before
stay committed, and running the file again finishes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.invoices import numbering
from langganan.kit.db import is_transient, snapshot
from langganan.kit.work import Work
from langganan.legacy import service
from langganan.legacy.service import RowResult
from langganan.web.context import AppContext

log = logging.getLogger("langganan")


def run(ctx: AppContext, rows: Iterable[tuple[int, Mapping[str, str | None]]], *, dry_run: bool,
        on_result: Callable[[RowResult], None] | None = None, by: Actor | None = None) -> list[RowResult]:
    """Import the rows; each imported one is in the audit log (`account.migrated`, by `by`) with its commit."""
    if dry_run:  # one transaction for the whole file: on SQLite, on a copy (it would hold the write lock)
        with snapshot(ctx.db) as copy:
            return _run(replace(ctx, db=copy), rows, dry_run=True, on_result=on_result, by=by)
    # each row committed on its own on the background database: it waits longer for the lock, and on
    # SQLite lets waiting requests in between rows
    return _run(ctx.background(), rows, dry_run=False, on_result=on_result, by=by)


def _run(ctx: AppContext, rows: Iterable[tuple[int, Mapping[str, str | None]]], *, dry_run: bool,
         on_result: Callable[[RowResult], None] | None, by: Actor | None) -> list[RowResult]:
    results: list[RowResult] = []
    with ctx.db.sessions() as session:
        if dry_run:
            numbering.defer(session)
        try:
            for line, raw in rows:
                result = _one(ctx, session, line, raw, dry_run, by)
                results.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            session.deferred = None
    return results  # leaving the session rolls back what a dry run did


def _one(ctx: AppContext, session: Work, line: int, raw: Mapping[str, str | None], dry_run: bool,
         by: Actor | None) -> RowResult:
    try:
        now = ctx.now(session)
        result = service.import_row(session, ctx.settings, line, raw, now)
        if by is not None and result.status == "imported" and result.account_id is not None:
            audit.record(session, by, "account.migrated", target_type="account", target_id=result.account_id,
                         now=now, account_id=result.account_id,
                         after={"account_key": result.account_key, "plan": (raw.get("plan") or "").strip().lower(),
                                "invoice_id": result.invoice_id,
                                "period_end": result.period_end.isoformat() if result.period_end else None})
        if not dry_run:
            session.commit()
    except Exception as exc:
        if is_transient(exc):
            session.rollback()
            raise
        log.exception("legacy import: line %s failed unexpectedly", line)
        if not dry_run or not session.is_active:
            session.rollback()
        key = (raw.get("account_key") or "").strip() or None
        return RowResult(line, key, "failed", "internal_error",
                         "The row could not be imported because of an unexpected error (logged); nothing of it "
                         "was kept. Report it to the operators.")
    if dry_run:
        result.invoice_number = None  # a dry run's invoices are never numbered
    return result
