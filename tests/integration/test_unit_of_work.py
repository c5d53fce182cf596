"""The unit of work (kit.work.Work, issue 13): what a transaction carries is forgotten with it, events
reach the outbox table only when it commits, a savepoint that rolls back takes its events and its
deferred invoice numbers with it, and the database's steps run where they should, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from langganan.events.models import Event
from langganan.events.service import emit
from langganan.kit.db import Database
from langganan.kit.work import Question, Steps, Work, work_of

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
SEEN: Question[str, int] = Question("a test's read-ahead answer")


def _events(db: Database) -> list[str]:
    with db.transaction() as s:
        return list(s.scalars(select(Event.type).order_by(Event.id)))


def test_events_reach_the_outbox_table_when_the_transaction_commits_in_emission_order(database: Database) -> None:
    with database.transaction() as s:
        for type_ in ("a.first", "b.second", "c.third"):
            emit(s, type_, None, {"n": type_}, NOW)
        assert s.scalar(select(func.count()).select_from(Event)) == 0  # not before the commit
    assert _events(database) == ["a.first", "b.second", "c.third"]


def test_a_rolled_back_transaction_writes_no_event(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as s:
        emit(s, "never.happened", None, {}, NOW)
        raise RuntimeError("rolled back")
    assert _events(database) == []


def test_a_savepoint_that_rolls_back_takes_its_events_and_numbers_a_released_one_keeps_them(
        database: Database) -> None:
    with database.transaction() as s:
        s.deferred = []
        emit(s, "outer.before", None, {}, NOW)
        with s.begin_nested():
            emit(s, "kept.savepoint", None, {}, NOW)
            s.deferred.append(("kept", "2026-03"))
        with pytest.raises(RuntimeError), s.begin_nested():
            emit(s, "lost.savepoint", None, {}, NOW)
            s.deferred.append(("lost", "2026-03"))
            with s.begin_nested():  # a savepoint inside it goes with it
                emit(s, "lost.inner", None, {}, NOW)
            raise RuntimeError("this step failed")
        assert s.deferred == [("kept", "2026-03")]
        emit(s, "outer.after", None, {}, NOW)
        s.deferred = None
    assert _events(database) == ["outer.before", "kept.savepoint", "outer.after"]


def test_what_a_transaction_carries_is_forgotten_when_it_ends_though_the_session_lives_on(database: Database) -> None:
    with database.sessions() as s:
        s.read_ahead(SEEN)["x"] = 1
        s.remember("balance", "w1", object(), 10, NOW)
        s.collecting = True
        emit(s, "first.transaction", None, {}, NOW)
        s.commit()
        assert (s.answers(SEEN), s.before, s.collecting, s.outbox.rows) == (None, {}, False, {})
        s.read_ahead(SEEN)["y"] = 2
        s.rollback()
        assert s.answers(SEEN) is None
    assert _events(database) == ["first.transaction"]


def test_flush_steps_run_on_every_flush_commit_steps_once_at_the_real_commit(database: Database) -> None:
    calls: list[tuple[str, int]] = []

    def on_flush(work: Work) -> None:
        calls.append(("flush", len(work.new)))

    def on_commit(work: Work) -> None:
        calls.append(("commit", len(work.before)))
        emit(work, "decided.on.commit", None, {"moved": len(work.before)}, NOW)  # a reaction may emit

    db = Database(database.url, steps=Steps(before_flush=(on_flush,), before_commit=(on_commit,)))
    try:
        with db.transaction() as s:
            s.add(Event(id="evt_manual", type="added.as.object", account_id=None, data={}, created_at=NOW))
            s.flush()
            with s.begin_nested():  # releasing a savepoint is no commit
                s.remember("balance", "w1", object(), 10, NOW)
            assert [c for c in calls if c[0] == "commit"] == []
        assert calls == [("flush", 1), ("commit", 1)]
    finally:
        db.dispose()
    assert sorted(_events(database)) == ["added.as.object", "decided.on.commit"]


def test_remember_keeps_the_value_before_the_first_movement_and_the_latest_time() -> None:
    work = Work()
    row: Any = object()
    work.remember("balance", "w1", row, 100, NOW)
    work.remember("balance", "w1", row, 40, NOW.replace(hour=10))
    work.remember("balance", "w1", row, 10, NOW.replace(hour=8))
    seen = work.before[("balance", "w1")]
    assert (seen.obj, seen.value, seen.at) == (row, 100, NOW.replace(hour=10))


def test_a_plain_session_is_refused_where_a_unit_of_work_is_needed(database: Database) -> None:
    with Session(database.engine) as plain, pytest.raises(TypeError, match="unit of work"):
        work_of(plain)


def test_an_app_refuses_a_database_opened_with_other_settings(tmp_path: Path) -> None:
    """The units of work keep next_due_at by the settings' policy: a database opened with another policy would
    keep it wrong without a word, so the composition root refuses it."""
    from langganan.app import make_context, open_database
    from langganan.config import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", grace_days=9, sandbox_gateway_secret="s")
    other = open_database(settings.database_url)  # the defaults' policy (grace 3 days)
    with pytest.raises(ValueError, match="opened with other settings"):
        make_context(settings, other)
    same = open_database(settings.database_url, settings)
    assert make_context(settings, same).db is same
    other.dispose()
    same.dispose()


def test_on_commit_actions_run_after_the_commit_only_and_go_with_a_savepoint_that_rolls_back(
        database: Database) -> None:
    done: list[str] = []
    with database.transaction() as s:
        s.on_commit(lambda: done.append("outer"))
        with s.begin_nested():  # released: its action waits for the real commit
            s.on_commit(lambda: done.append("kept savepoint"))
        with pytest.raises(RuntimeError), s.begin_nested():
            s.on_commit(lambda: done.append("lost savepoint"))
            raise RuntimeError("this step failed")
        emit(s, "seen.after", None, {}, NOW)
        assert done == []  # nothing before the commit
    assert done == ["outer", "kept savepoint"]
    with pytest.raises(RuntimeError), database.transaction() as s:
        s.on_commit(lambda: done.append("rolled back"))
        raise RuntimeError("rolled back")
    with database.transaction() as s:  # a new transaction starts with nothing left over
        emit(s, "later", None, {}, NOW)
    assert done == ["outer", "kept savepoint"]
