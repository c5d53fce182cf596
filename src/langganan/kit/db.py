"""Database plumbing: engines for SQLite (embedded default) and PostgreSQL, one UTC type."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, inspect
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import JSON, TypeDecorator

from langganan.kit.bulk import copy_new, update_dirty


class UTCDateTime(TypeDecorator[datetime]):
    """Every stored time is timezone-aware UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 40) -> Engine:
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy own BEGIN so writers take the lock up front and queue on busy_timeout.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Sized to the request thread pool (anyio's 40 threads) so connections are reused, not churned;
    # recycled rather than pinged, which saves a round trip on every checkout.
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800)


class Database:
    """An engine and its session factory. The caller (request, job, CLI) owns the transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


# -- rows this transaction already holds ------------------------------------------------------------
# A row the transaction inserted, or locked FOR UPDATE outside any savepoint, stays locked until the
# transaction ends, so reading it again "for update" needs no second round trip: the object in the
# identity map is it. Forgotten when the outermost transaction ends.

TX_PREFIX = "langganan.tx."
_HELD = TX_PREFIX + "held_rows"


def hold(session: Session, obj: Any, key: Any = None) -> None:
    """Remember that this transaction holds `obj`'s row (it inserted it, or locked it outside a
    savepoint), under its id or under another unique `key`."""
    session.info.setdefault(_HELD, {})[(type(obj), obj.id if key is None else key)] = obj


def held(session: Session, cls: type[Any], key: Any) -> Any | None:
    """The object of a row this transaction holds, without a query; None when it does not hold it."""
    obj = session.info.get(_HELD, {}).get((cls, key))
    if obj is None or obj not in session:  # (not in it: added in a savepoint that rolled back)
        return None
    state = inspect(obj)
    return obj if state.persistent or state.pending else None


# -- one flush per batch ------------------------------------------------------------------------------
# A service flushes right after its change so that a broken write fails there, inside the caller's
# savepoint. A due-runner batch instead reads ahead what its steps need and lets its writes collect
# until the end, where the unit of work sends each table's rows in one multi-row statement. Autoflush
# stays on, so a query that was not read ahead still sees every change before it (it only costs a
# flush). If anything fails, the batch's savepoint rolls back and it is done again row by row.

_ONE_FLUSH = TX_PREFIX + "one_flush"


def flush(session: Session) -> None:
    """Flush now, unless the session is collecting a batch's writes (`one_flush`)."""
    if not session.info.get(_ONE_FLUSH):
        session.flush()


@contextmanager
def one_flush(session: Session, *, copy: Sequence[type[Any]] = (), update: Sequence[type[Any]] = ()) -> Iterator[None]:
    """Within this block `flush` waits: the block's writes go out together when it ends (or earlier,
    when a query autoflushes them). On PostgreSQL the new objects of the insert-only classes in
    `copy` are then written with COPY, and the changes to objects of `update` with one statement per
    class (`kit.bulk`); the unit of work writes the rest."""
    session.info[_ONE_FLUSH] = True
    try:
        yield
        if copy or update:
            session.dispatch.before_flush(session, None, None)  # what flush hooks change goes out too
            copy_new(session, copy)
            update_dirty(session, update)
        session.flush()
    finally:
        session.info.pop(_ONE_FLUSH, None)


_KEPT = TX_PREFIX + "kept_rows"


def keep(session: Session, objs: Iterable[Any]) -> None:
    """Keep objects loaded ahead for this transaction in the identity map (it holds them weakly), so
    that `session.get` finds them without a query."""
    session.info.setdefault(_KEPT, []).extend(objs)


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # every "langganan.tx." entry of session.info lives one transaction
        for key in [k for k in session.info if isinstance(k, str) and k.startswith(TX_PREFIX)]:
            del session.info[key]
