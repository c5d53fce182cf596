"""Which database errors pass by themselves (answered 503 with Retry-After, not 500), and background
batches sized by the time they take (issue 11)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from langganan.app import open_database
from langganan.kit.batches import BatchSize
from langganan.kit.db import is_transient


def _locked_error(tmp_path: Path) -> OperationalError:
    """The error a transaction gets when another connection holds SQLite's write lock past its wait."""
    db = open_database(f"sqlite:///{tmp_path / 'busy.db'}", lock_wait=0.05)
    with db.transaction() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError) as caught, db.transaction() as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.dispose()
    return caught.value


def test_a_lock_not_had_in_time_on_sqlite_is_transient(tmp_path: Path) -> None:
    error = _locked_error(tmp_path)
    assert "database is locked" in str(error)
    assert is_transient(error)
    assert is_transient(error.orig)  # the driver's own error too
    try:  # and what a caller raised because of it
        raise RuntimeError("the import stopped") from error
    except RuntimeError as wrapped:
        assert is_transient(wrapped)


def test_other_sqlite_errors_are_not(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as caught, db.transaction() as s:
        s.execute(text("SELECT * FROM no_such_table"))
    db.dispose()
    assert not is_transient(caught.value)
    assert not is_transient(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not is_transient(ValueError("a bug"))


@pytest.mark.parametrize(("error", "transient"), [
    (psycopg.errors.DeadlockDetected("deadlock detected"), True),  # 40P01
    (psycopg.errors.SerializationFailure("could not serialize access"), True),  # 40001
    (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), True),  # 55P03
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),  # 57P01
    (psycopg.errors.TooManyConnections("sorry, too many clients already"), True),  # 53300
    (psycopg.OperationalError("connection failed: Connection refused"), True),  # no server answered
    (psycopg.OperationalError("server closed the connection unexpectedly"), True),
    (psycopg.errors.UniqueViolation("duplicate key"), False),
    (psycopg.errors.UndefinedTable("relation does not exist"), False),
    (psycopg.errors.StringDataRightTruncation("value too long"), False),
    (psycopg.errors.DiskFull("could not extend file"), False),
])
def test_postgresql_conditions_that_pass_by_themselves(error: psycopg.Error, transient: bool) -> None:
    assert is_transient(error) is transient
    assert is_transient(OperationalError("SELECT 1", {}, error)) is transient  # as SQLAlchemy wraps it


def test_a_pool_with_no_connection_free_in_time_is_transient() -> None:
    assert is_transient(PoolTimeout("QueuePool limit of size 40 overflow 10 reached"))


def test_a_batch_grows_while_batches_are_quick_and_shrinks_to_fit_when_one_is_slow() -> None:
    size = BatchSize(200, 0.25, first=10)
    assert size.size == 10
    for expected in (20, 40, 80, 160, 200, 200):
        size.took(0.01)
        assert size.size == expected
    size.took(1.0)  # four times too long: a quarter
    assert size.size == 50
    size.took(0.2)  # 50 took 0.2 s: 62 would have fit
    assert size.size == 62
    size.took(60.0)  # one item may take longer than the whole time: still one a batch
    assert size.size == 1
    size.took(60.0)
    assert size.size == 1


def test_a_batch_size_is_never_above_its_most_or_below_one() -> None:
    assert BatchSize(200, 0.25).size == 1  # the first batch is one item: its cost is not known yet
    assert BatchSize(3, 0.25, first=10).size == 3
    assert BatchSize(0, 0.25).size == 1
    with BatchSize(5, 0.25, first=5).timed() as limit:
        assert limit == 5
