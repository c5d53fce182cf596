"""The queries of history and retention: rows of a table by month in key order (what archive exports), deleting
them in keyset batches, and PostgreSQL's partitions of delivery_attempts (pg_inherits)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Select,
    TableClause,
    and_,
    column,
    delete,
    exists,
    func,
    select,
    table,
    text,
)

from langganan.audit.models import AuditEntry
from langganan.console.models import LoginAttempt
from langganan.events.models import Event
from langganan.invoices.models import Invoice, InvoiceLine
from langganan.kit.db import Database
from langganan.kit.work import Work
from langganan.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Notification
from langganan.payments.models import Payment
from langganan.wallets.models import WalletEntry
from langganan.web.models import WebSession


@dataclass(frozen=True)
class Source:
    """A table's rows as archive sees them: `at` places a row in a month, `key` orders and names it, and
    `removable(cutoff)` says which rows before the cutoff may go (all of them, unless said otherwise)."""

    table: TableClause
    at: str  # the column (of `table`, or of `via`) whose month a row belongs to
    key: str = "id"
    via: tuple[TableClause, str, str] | None = None  # (joined table, our column, its): a line by its invoice's month
    removable: Callable[[datetime], ColumnElement[bool]] | None = None

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]

    def time(self) -> Any:
        return self.via[0].c[self.at] if self.via else self.table.c[self.at]

    def select_rows(self, *what: Any) -> Select[Any]:
        query = select(*what).select_from(self.table)
        if self.via is not None:
            joined, ours, theirs = self.via
            query = query.join(joined, self.table.c[ours] == joined.c[theirs])
        return query

    def where(self, start: datetime | None, end: datetime, cutoff: datetime | None) -> ColumnElement[bool]:
        at = self.time()
        condition = and_(at < end, at >= start) if start is not None else at < end
        if cutoff is not None and self.removable is not None:
            condition = and_(condition, self.removable(cutoff))
        return condition


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _finished_delivery(cutoff: datetime) -> ColumnElement[bool]:
    """Finished before the cutoff (a resend makes it pending again, and later), no attempt of it from the cutoff
    on: its older attempts go first, under the same setting (retention.RULES), so none is left by then (and a
    dry run counts what a run would remove)."""
    d, a = Delivery.__table__.c, DeliveryAttempt.__table__.c
    return and_(d.status != DeliveryStatus.PENDING, d.updated_at < cutoff,
                ~exists().where(a.delivery_id == d.id, a.started_at >= cutoff))


def _table(model: Any) -> TableClause:
    found: TableClause = model.__table__
    return found


RETAINED = {
    "delivery_attempts": Source(_table(DeliveryAttempt), "started_at"),
    "deliveries": Source(_table(Delivery), "created_at", removable=_finished_delivery),
    "notifications": Source(_table(Notification), "created_at"),
    "login_attempts": Source(_table(LoginAttempt), "created_at"),
    "web_sessions": Source(_table(WebSession), "expires_at"),
}
KEPT = {
    "wallet_entries": Source(_table(WalletEntry), "created_at"),
    "invoices": Source(_table(Invoice), "issued_at"),
    "invoice_lines": Source(_table(InvoiceLine), "issued_at", via=(_table(Invoice), "invoice_id", "id")),
    "payments": Source(_table(Payment), "created_at"),
    "audit_entries": Source(_table(AuditEntry), "at"),
    "events": Source(_table(Event), "created_at"),
}


def earliest(session: Work, source: Source, end: datetime, cutoff: datetime | None = None) -> datetime | None:
    """When the first row before `end` (that may go) was placed, or None."""
    found: datetime | None = session.scalar(source.select_rows(func.min(source.time()))
                                            .where(source.where(None, end, cutoff)))
    return found


def count(session: Work, source: Source, start: datetime | None, end: datetime,
          cutoff: datetime | None = None) -> int:
    return int(session.scalar(source.select_rows(func.count()).where(source.where(start, end, cutoff))) or 0)


def page(session: Work, source: Source, start: datetime | None, end: datetime, cutoff: datetime | None,
         after: Any, limit: int) -> Sequence[Any]:
    """Up to `limit` whole rows of the month [start, end) (that may go), in key order, after key `after`."""
    key = source.table.c[source.key]
    query = source.select_rows(*source.table.columns).where(source.where(start, end, cutoff))
    if after is not None:
        query = query.where(key > after)
    return session.execute(query.order_by(key).limit(limit)).all()


def delete_keys(session: Work, source: Source, start: datetime, end: datetime, cutoff: datetime | None,
                keys: Sequence[Any]) -> int:
    """Delete these rows of the month, those that may still go (a delivery resent since it was read stays)."""
    if not keys:
        return 0
    key = source.table.c[source.key]
    if source.via is None:
        return _rowcount(session.execute(delete(source.table).where(key.in_(keys), source.where(start, end, cutoff))))
    chosen = session.scalars(source.select_rows(key).where(key.in_(keys), source.where(start, end, cutoff))).all()
    return _rowcount(session.execute(delete(source.table).where(key.in_(chosen)))) if chosen else 0


# --- PostgreSQL: delivery_attempts' partitions -----------------------------------------------------------------

PARENT = "delivery_attempts"
DEFAULT = f"{PARENT}_default"
ARCHIVE_LOCK = "langganan.archive"  # the advisory lock one archive holds at a time (archive_lock)
PARTITION = re.compile(rf"{PARENT}_(\d{{4}})_(\d{{2}})")


def partition_name(month: datetime) -> str:
    return f"{PARENT}_{month.year:04d}_{month.month:02d}"


def is_partition(name: str) -> bool:
    """A partition of delivery_attempts (or one detached and not yet dropped): not a table of the models."""
    return name == DEFAULT or PARTITION.fullmatch(name) is not None


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """For Alembic's comparisons: the partitions are the worker's (partitions.py), not the models' tables."""
    return not (type_ == "table" and name is not None and is_partition(name))


def partitioned(session: Work) -> bool:
    """Whether delivery_attempts is partitioned here (PostgreSQL after migration 0029)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return session.scalar(text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(:t)"),
                          {"t": PARENT}) is True


def attached(session: Work) -> list[str]:
    """The partitions of delivery_attempts, by name (the default one included)."""
    return list(session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"), {"t": PARENT}))


def detached(session: Work) -> list[str]:
    """Monthly tables no longer attached: what an archive run detached and had not dropped yet when it stopped."""
    names = session.scalars(text(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
        "AND relnamespace = 'public'::regnamespace AND relname LIKE :p ORDER BY relname"), {"p": f"{PARENT}_%"})
    return [n for n in names if PARTITION.fullmatch(n)]


def month_of(name: str) -> tuple[int, int]:
    found = PARTITION.fullmatch(name)
    assert found is not None, name
    return int(found.group(1)), int(found.group(2))


def create_partition(session: Work, month: datetime, end: datetime, lock_wait: str = "5s") -> int | None:
    """The month's partition, with the rows the default partition caught for it moved in; how many moved (None:
    another worker had just made it).

    Built beside the table and then attached (ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on delivery_attempts:
    sends go on meanwhile; it briefly locks the default partition, which it scans for rows of the month). Waits at
    most `lock_wait` for its locks, then fails (and is tried again at the next upkeep) rather than queueing
    sends behind it."""
    name, bounds = partition_name(month), {"start": month, "end": end}
    session.execute(text(f"SET LOCAL lock_timeout = '{lock_wait}'"))
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": PARENT})  # one creator at a time
    if session.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is not None:
        return None  # another worker made it meanwhile
    session.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    moved = _rowcount(session.execute(text(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE started_at >= :start AND started_at < :end RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved"), bounds))
    session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM "
                         f"('{month.isoformat()}') TO ('{end.isoformat()}')"))
    return moved


def detach(session: Work, name: str, lock_wait: str = "5s") -> None:
    """Detach a month (ACCESS EXCLUSIVE on delivery_attempts, a catalog change: sends wait for it). Waits at most
    `lock_wait` for the lock, so that sends do not queue behind it waiting for a long transaction; then fails (run
    archive again)."""
    session.execute(text(f"SET LOCAL lock_timeout = '{lock_wait}'"))
    session.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))


def drop(session: Work, name: str) -> None:
    session.execute(text(f"DROP TABLE {name}"))


def detached_source(name: str) -> Source:
    """A detached month as a source of rows (its columns are delivery_attempts')."""
    return Source(table(name, *[column(c.name, c.type) for c in _table(DeliveryAttempt).columns]), "started_at")


@contextmanager
def archive_lock(db: Database) -> Iterator[bool]:
    """PostgreSQL: a session advisory lock held by a connection of its own while an archive runs (yields whether
    it was granted; never waits). SQLite: nothing to take (one host; the directory's lock file decides)."""
    if db.dialect != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        granted = bool(conn.scalar(text("SELECT pg_try_advisory_lock(hashtext(:n))"), {"n": ARCHIVE_LOCK}))
        conn.commit()
        try:
            yield granted
        finally:
            if granted:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": ARCHIVE_LOCK})
                conn.commit()
