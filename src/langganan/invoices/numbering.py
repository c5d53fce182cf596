"""Gapless invoice numbers (DESIGN rule 12): one sequence per calendar month in the seller's zone.

The counter row is incremented in the same transaction as the invoice insert, so a rolled-back
invoice rolls its number back too, and concurrent issuers queue on the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from langganan.invoices.models import Invoice, InvoiceSequence
from langganan.invoices.rules import format_number, month_key
from langganan.kit.work import Work


def next_number(session: Work, issued_at: datetime, seller_tz: str) -> str:
    key = month_key(issued_at, seller_tz)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = InvoiceSequence.__table__
    assert isinstance(table, Table)
    stmt = insert(table).values(month=key, last_value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.month],
                                      set_={"last_value": table.c.last_value + 1})
    value = session.execute(stmt.returning(table.c.last_value)).scalar_one()
    return format_number(key, value)


# -- deferred numbers (the due runner's batches) ----------------------------------------------------
# The counter row of a month is a lock every issuer queues on until its transaction ends. A due-runner
# batch issues many invoices in one long transaction, so it gives them placeholders and numbers them
# all at once just before it commits (`assign_deferred`): the counter is locked only for that moment,
# the numbers stay gapless (a block of consecutive values per month, in issue order) and a rolled-back
# batch rolls its block back with it.

PLACEHOLDER = "PENDING/"


def defer(session: Work) -> None:
    """From now on until it commits (or `assign_deferred`), this unit of work gives the invoices it
    issues placeholders (`Work.deferred`); a savepoint that rolls back forgets its own."""
    session.deferred = []


def deferring(session: Work) -> bool:
    return session.deferred is not None


def placeholder_for(session: Work, invoice: Invoice, issued_at: datetime, seller_tz: str) -> str:
    deferred = session.deferred
    assert deferred is not None, "numbers are not deferred in this unit of work"
    deferred.append((invoice, month_key(issued_at, seller_tz)))
    return f"{PLACEHOLDER}{invoice.id}"


def assign_deferred(session: Work) -> dict[str, str]:
    """Number the deferred invoices (one counter update per month) and stop deferring; the events in
    the outbox get the numbers too. Returns placeholder -> number."""
    pending: list[tuple[Invoice, str]] = session.deferred or []
    session.deferred = None
    by_month: dict[str, list[Invoice]] = {}
    for invoice, key in pending:
        if invoice in session:  # (not in it: issued in a savepoint that rolled back)
            by_month.setdefault(key, []).append(invoice)
    if not by_month:
        return {}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = InvoiceSequence.__table__
    assert isinstance(table, Table)
    out: dict[str, str] = {}
    for key in sorted(by_month):  # one order for every worker: no deadlock between two months' rows
        invoices = by_month[key]
        stmt = insert(table).values(month=key, last_value=len(invoices))
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.month],
                                          set_={"last_value": table.c.last_value + len(invoices)})
        with session.no_autoflush:  # in a one-flush batch the invoices then go out with their numbers
            last = session.execute(stmt.returning(table.c.last_value)).scalar_one()
        for value, invoice in enumerate(invoices, start=last - len(invoices) + 1):
            number = format_number(key, value)
            out[invoice.number] = number  # placeholder -> number
            invoice.number = number
    session.outbox.rename(out)
    return out
