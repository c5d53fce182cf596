"""Database plumbing: engines for SQLite (embedded default) and PostgreSQL, one UTC type, how long a
transaction waits for a lock, and which database errors pass by themselves."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import JSON, TypeDecorator

from langganan.kit.bulk import copy_new, update_dirty
from langganan.kit.work import Steps, Work, work_of


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


# -- waiting for a lock -------------------------------------------------------------------------------
# A request waits at most `lock_wait` seconds for a lock (SQLite: the database's write lock, taken by
# BEGIN IMMEDIATE; PostgreSQL: any row or table lock, as `lock_timeout`), then fails with an error that
# `is_transient` recognises and the web layer answers 503 with Retry-After. Work no request waits on
# (due work, deliveries) runs on `Database.background`, which waits longer.
#
# SQLite has no queue of waiting writers: its busy handler polls, backing off to every 100 ms, and a
# process that commits and begins again at once wins the lock nearly every time. So a waiting BEGIN
# polls every millisecond or two here (SQLITE_POLL_MS, then again from Python), and background work
# pauses after each transaction (`_pause`) long enough for a waiting request to take the lock.

DEFAULT_LOCK_WAIT = 5.0  # seconds: requests
DEFAULT_BACKGROUND_WAIT = 30.0  # seconds: background work and migrations
SQLITE_POLL_MS = 4  # one round of SQLite's busy handler: tries at 0, 1, 3 and 4 ms
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
# After a background transaction on SQLite: a tenth of the time it held the lock, at least 3 ms (more
# than the longest gap between a waiter's tries) and at most 25 ms. Background work gives up about 10%.
PAUSE_SHARE, PAUSE_MIN, PAUSE_MAX = 0.1, 0.003, 0.025


def _pause(held: float) -> float:
    return min(PAUSE_MAX, max(PAUSE_MIN, held * PAUSE_SHARE))


def make_engine(url: str, *, lock_wait: float = DEFAULT_BACKGROUND_WAIT, pauses: bool = False,
                pool_size: int = 40, pre_ping: bool = False, autocommit: bool = False) -> Engine:
    """`autocommit`: every statement is its own transaction (Database.statements)."""
    if is_sqlite(url):
        return _sqlite_engine(url, lock_wait, pauses, autocommit)
    # Sized to the request thread pool (anyio's 40 threads) so connections are reused, not churned;
    # recycled rather than pinged, which saves a round trip on every checkout (`pre_ping`: pinged too, for
    # background work, where a round trip is nothing). A connection the server dropped (restarted, or
    # pg_terminate_backend) fails the one transaction that finds it: `is_transient`, so a request is
    # answered 503 and background work tries again; SQLAlchemy then replaces every older pooled connection.
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800, pool_pre_ping=pre_ping,
                         isolation_level="AUTOCOMMIT" if autocommit else None,
                         connect_args={"options": f"-c lock_timeout={max(1, round(lock_wait * 1000))}"})


def _sqlite_engine(url: str, lock_wait: float, pauses: bool, autocommit: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": lock_wait, "check_same_thread": False},
                           isolation_level="AUTOCOMMIT" if autocommit else None)
    ended = [0.0, 0.0]  # when this engine's last transaction began and ended (monotonic), for `pauses`

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy own BEGIN so writers take the lock up front and queue on the busy handler.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={round(lock_wait * 1000)}")  # (turning WAL on may wait)
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_POLL_MS}")  # BEGIN IMMEDIATE waits in _begin_immediate
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        if autocommit:
            return  # (Database.statements: each statement is its own transaction, a read takes no lock)
        if pauses:
            rest = ended[1] + _pause(ended[1] - ended[0]) - time.monotonic()
            if rest > 0:
                time.sleep(rest)
        raw = conn.connection.dbapi_connection
        deadline = time.monotonic() + lock_wait
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                ended[0] = time.monotonic()
                return
            except sqlite3.OperationalError as exc:
                if not _sqlite_busy(exc):
                    break
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the last try: its error goes through SQLAlchemy as usual
        ended[0] = time.monotonic()

    def _ended(_conn: Any) -> None:
        ended[1] = time.monotonic()

    event.listen(engine, "commit", _ended)
    event.listen(engine, "rollback", _ended)
    return engine


def _sqlite_busy(exc: BaseException) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)


# PostgreSQL conditions that pass by themselves: a serialization failure, a deadlock, a lock not had
# within lock_timeout, too many connections, a canceled statement, a server shutting down or
# terminating the connection; and every error of class 08 (connection exception).
_PG_TRANSIENT = {"40001", "40P01", "55P03", "53300", "57014", "57P01", "57P02", "57P03", "57P05"}


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a database condition that passes by itself, so the same
    request may succeed when tried again: a lock not had in time (SQLite busy, PostgreSQL
    lock_timeout), a deadlock or serialization failure, a lost or refused connection, no pooled
    connection free in time."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if _transient(current):
            return True
        current, seen = current.__cause__ or current.__context__, seen + 1
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):  # the pool had no connection free in time
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return _transient_driver_error(exc.orig)
    return _transient_driver_error(exc)


def _transient_driver_error(exc: BaseException | None) -> bool:
    if isinstance(exc, sqlite3.Error):
        return _sqlite_busy(exc)
    psycopg = sys.modules.get("psycopg")  # (not imported: the error cannot be one of its)
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        state = getattr(exc, "sqlstate", None)
        # no SQLSTATE: no server answered (refused, lost, closed connection)
        return state is None or state.startswith("08") or state in _PG_TRANSIENT
    return False


class Database:
    """An engine and its session factory. The caller (request, job, CLI) owns the transaction.

    Its sessions are units of work (`kit.work.Work`) that run `steps` (the composition root gives
    the domain's: `langganan.app.make_database`). Its transactions wait up to `lock_wait` seconds for
    a lock; `background` is the same database for work no request waits on."""

    def __init__(self, url: str, *, steps: Steps, lock_wait: float = DEFAULT_LOCK_WAIT,
                 background_wait: float = DEFAULT_BACKGROUND_WAIT, pauses: bool = False) -> None:
        self.url = url
        self.steps = steps
        self.lock_wait = lock_wait
        self.background_wait = background_wait
        self.pauses = pauses
        self.engine = make_engine(url, lock_wait=lock_wait, pauses=pauses, pool_size=5 if pauses else 40,
                                  pre_ping=pauses)  # (`pauses`: this is the background database)
        self.sessions = sessionmaker(self.engine, class_=Work, expire_on_commit=False, steps=steps)
        # Autocommit statements: on PostgreSQL the same pool (the driver's autocommit is set for the checkout and
        # reset after, and a connection the server dropped is found by either use); on SQLite an engine of its own
        # (a pooled pysqlite connection would keep the transaction mode it was last given).
        self._statements_engine = (make_engine(url, lock_wait=lock_wait, autocommit=True, pool_size=5)
                                   if is_sqlite(url) else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self._statements = sessionmaker(self._statements_engine, class_=Work, expire_on_commit=False, steps=steps)
        self._background: Database | None = None
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def background(self) -> Database:
        """This database for work no request waits on (due work, deliveries, recording a gateway's
        answer): its own connections, which wait up to `background_wait` for a lock and are pinged
        before use (PostgreSQL); on SQLite each of its transactions is followed by a short pause, so
        that requests waiting for the write lock get it between them."""
        if self.pauses:  # (this is one)
            return self
        with self._lock:
            if self._background is None:
                self._background = Database(self.url, steps=self.steps, lock_wait=self.background_wait,
                                            background_wait=self.background_wait, pauses=True)
            return self._background

    @contextmanager
    def transaction(self) -> Iterator[Work]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def statements(self) -> Iterator[Work]:
        """A session whose every statement is its own transaction (autocommit): no BEGIN and COMMIT round trips
        around a single read, and on SQLite no write lock for it (a write still waits for the lock, briefly:
        only for what may fail and be tried again later). For a lookup on every request (an API key)."""
        with self._statements() as session:
            yield session

    def dispose(self) -> None:
        if self._background is not None:
            self._background.dispose()
        self._statements_engine.dispose()
        self.engine.dispose()


# -- a private copy for work that is thrown away -----------------------------------------------------
# A dry run (legacy import) checks a whole file in one transaction and rolls it back. On SQLite that
# transaction would hold the one write lock for as long as the file takes; on a copy it holds none.

_snapshot_lock = threading.Lock()


@contextmanager
def snapshot(db: Database) -> Iterator[Database]:
    """SQLite: a private copy of the database, for work that is rolled back anyway, so that its long
    transaction locks nothing of the real one. The copy is taken with SQLite's backup API under a
    read transaction (in WAL mode no writer waits for it) and deleted afterwards; one at a time per
    process, under one name, so that what is cached per database URL is not cached again for each
    copy. PostgreSQL (row locks only): the database itself."""
    source = db.engine.url.database
    if not is_sqlite(db.url) or not source or source == ":memory:":
        yield db
        return
    digest = hashlib.sha1(os.path.abspath(source).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"langganan-snapshot-{digest}-{os.getpid()}.db"
    with _snapshot_lock:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        raw = db.engine.raw_connection()
        try:
            target = sqlite3.connect(path)
            try:
                raw.dbapi_connection.backup(target)  # type: ignore[union-attr]
            finally:
                target.close()
        finally:
            raw.close()
        copy = Database(f"sqlite:///{path}", steps=db.steps, lock_wait=db.lock_wait,
                        background_wait=db.background_wait)
        try:
            yield copy
        finally:
            copy.dispose()
            for done in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                done.unlink(missing_ok=True)


# -- one flush per batch ------------------------------------------------------------------------------
# A service flushes right after its change so that a broken write fails there, inside the caller's
# savepoint. A due-runner batch instead reads ahead what its steps need and lets its writes collect
# until the end, where the unit of work sends each table's rows in one multi-row statement. Autoflush
# stays on, so a query that was not read ahead still sees every change before it (it only costs a
# flush). If anything fails, the batch's savepoint rolls back and it is done again row by row.

def added_unless_taken(session: Session, row: Any) -> bool:
    """Insert `row` in a savepoint: False, with nothing written, when a unique key it carries is taken (by a row
    committed or written at the same moment by another transaction); the caller's transaction goes on."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def flush(session: Session) -> None:
    """Flush now, unless the unit of work is collecting a batch's writes (`one_flush`)."""
    if not work_of(session).collecting:
        session.flush()


@contextmanager
def one_flush(session: Session, *, copy: Sequence[type[Any]] = (), update: Sequence[type[Any]] = ()) -> Iterator[None]:
    """Within this block `flush` waits: the block's writes go out together when it ends (or earlier,
    when a query autoflushes them). On PostgreSQL the new objects of the insert-only classes in
    `copy` are then written with COPY, and the changes to objects of `update` with one statement per
    class (`kit.bulk`); the unit of work writes the rest."""
    work = work_of(session)
    work.collecting = True
    try:
        yield
        if copy or update:
            work.run_flush_steps()  # what the flush steps change goes out too
            copy_new(session, copy)
            update_dirty(session, update)
        session.flush()
    finally:
        work.collecting = False
