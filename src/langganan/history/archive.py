"""`langganan archive`: export, then remove, the operational history past its retention (retention.RULES); and,
asked, export the tables kept forever (retention.KEPT) by month without removing anything.

For each table under retention and each month before its cutoff, the rows that may go are read in key order and
written to gzip CSV files in the archive directory (files.py: complete under their final name, or absent), at most
FILE_ROWS a file; only then are exactly those rows deleted, PAGE at a time in short transactions (on SQLite each
holds the write lock), each delete checking again that the row may still go. On PostgreSQL delivery_attempts'
months before the cutoff are whole partitions: detached, exported, dropped.

A re-run after a crash: rows already in a file of that table and month are deleted without being written again,
and a detached partition not yet dropped is exported (what its files lack) and dropped. So nothing is lost, nothing
is exported twice, as long as the same directory is used. Two archives never run at once: the second is refused.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langganan.config import Settings
from langganan.history import files, repository
from langganan.history.repository import Source
from langganan.history.retention import RULES, add_months, cutoff, label, month_start, months
from langganan.kit.db import Database

PAGE = 1000  # rows per read, and per delete transaction
FILE_ROWS = 100_000  # rows per file at most (the rows of a file are deleted only once it is in place)
LOCK_FILE = "archive.lock"  # (not hidden: hidden names are files being written)


@dataclass(frozen=True)
class Line:
    """What archive did (or, in a dry run, would do) with one table's month."""

    table: str
    month: str
    action: str  # deleted, dropped, exported; would delete, would drop, would export; already exported
    rows: int  # rows deleted (dropped, exported)
    files: tuple[Path, ...] = ()  # files written
    bytes: int = 0  # their size


class ArchiveBusy(Exception):
    """Another archive is running (on this database, or into this directory)."""


@contextmanager
def one_at_a_time(db: Database, out: Path) -> Iterator[None]:
    """Held while an archive runs: a lock on the directory's `archive.lock` file (every process on this host), and
    on PostgreSQL a session advisory lock (every process on any host). Not granted at once: ArchiveBusy."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveBusy(f"another archive is writing into {out}") from None
        with repository.archive_lock(db) as granted:
            if not granted:
                raise ArchiveBusy("another archive is running on this database")
            yield


def archive(db: Database, settings: Settings, now: datetime, out: Path | None, *, before: datetime | None = None,
            dry_run: bool = False, export_kept: bool = False) -> list[Line]:
    """Archive what every retention setting lets go (only months before `before`, when given); with
    `export_kept`, export the kept tables' months before `before` (default: this month). `out` may be None only
    in a dry run. One archive at a time (`one_at_a_time`): a second one is refused with ArchiveBusy."""
    if dry_run:
        return _archive(db, settings, now, out, before, dry_run, export_kept)
    assert out is not None
    with one_at_a_time(db, out):
        return _archive(db, settings, now, out, before, dry_run, export_kept)


def _archive(db: Database, settings: Settings, now: datetime, out: Path | None, before: datetime | None,
             dry_run: bool, export_kept: bool) -> list[Line]:
    lines: list[Line] = []
    for rule in RULES:
        cut = cutoff(settings, rule, now, before)
        if cut is None:
            continue
        source = repository.RETAINED[rule.table]
        if rule.table == repository.PARENT:
            lines += _drop_months(db, out, cut, dry_run)
        lines += _remove_rows(db, source, out, cut, dry_run)
    if export_kept:
        end = before if before is not None else month_start(now)
        for source in repository.KEPT.values():
            lines += _export_kept(db, source, out, end, dry_run)
    return lines


def _remove_rows(db: Database, source: Source, out: Path | None, cut: datetime, dry_run: bool) -> list[Line]:
    with db.transaction() as session:
        first = repository.earliest(session, source, cut, cut)
    lines = []
    for month in months(first, cut) if first is not None else []:
        end = add_months(month, 1)
        if dry_run:
            with db.transaction() as session:
                n = repository.count(session, source, month, end, cut)
            if n:
                lines.append(Line(source.name, label(month), "would delete", n))
            continue
        assert out is not None

        def delete(keys: list[Any], month: datetime = month, end: datetime = end) -> int:
            return _delete(db, source, month, end, cut, keys)

        written, deleted = _export(db, source, source.name, out, month, end, cut, delete)
        if deleted or written:
            lines.append(Line(source.name, label(month), "deleted", deleted, *_sizes(written)))
    return lines


def _drop_months(db: Database, out: Path | None, cut: datetime, dry_run: bool) -> list[Line]:
    """PostgreSQL: delivery_attempts' partitions of months before the cutoff, detached, exported and dropped (and
    any a stopped run left detached)."""
    with db.transaction() as session:
        if not repository.partitioned(session):
            return []
        old = [n for n in repository.attached(session) if n != repository.DEFAULT]
        leftovers = repository.detached(session)
    lines = []
    for name in sorted({*old, *leftovers}):
        year, number = repository.month_of(name)
        month = datetime(year, number, 1, tzinfo=UTC)
        if add_months(month, 1) > cut and name not in leftovers:
            continue
        source = repository.detached_source(name)
        if dry_run:
            with db.transaction() as session:
                n = repository.count(session, source, None, add_months(month, 1))
            lines.append(Line(repository.PARENT, label(month), "would drop", n))
            continue
        assert out is not None
        if name not in leftovers:
            with db.transaction() as session:
                repository.detach(session, name)
        with db.transaction() as session:
            n = repository.count(session, source, None, add_months(month, 1))
        written, _ = _export(db, source, repository.PARENT, out, month, add_months(month, 1), None, lambda keys: 0)
        with db.transaction() as session:
            repository.drop(session, name)
        lines.append(Line(repository.PARENT, label(month), "dropped", n, *_sizes(written)))
    return lines


def _export(db: Database, source: Source, table: str, out: Path, month: datetime, end: datetime,
            cut: datetime | None, remove: Callable[[list[Any]], int]) -> tuple[list[Path], int]:
    """Write the month's rows (that may go) that no file of this table and month holds yet, FILE_ROWS a file;
    after each file is in place, `remove` its rows and those already in earlier files. The files written, and
    how many rows `remove` took."""
    done = files.existing(out, table, label(month))
    known = files.keys_in(done, source.key)
    written: list[Path] = []
    removed, after = 0, None
    while True:
        writer: files.Writer | None = None
        fresh: list[Any] = []
        again: list[Any] = []  # already in a file (a run that stopped before deleting them)
        while len(fresh) < FILE_ROWS and len(again) < FILE_ROWS:
            with db.transaction() as session:
                rows = repository.page(session, source, month, end, cut, after, PAGE)
            if not rows:
                break
            after = getattr(rows[-1], source.key)
            new = [r for r in rows if str(getattr(r, source.key)) not in known]
            again += [getattr(r, source.key) for r in rows if str(getattr(r, source.key)) in known]
            if new:
                if writer is None:
                    writer = files.Writer(out / files.name_for(table, label(month), len(done) + len(written) + 1),
                                          source.columns)
                writer.write([tuple(r) for r in new])
                fresh += [getattr(r, source.key) for r in new]
        if writer is not None:
            writer.close()
            written.append(writer.path)
        removed += remove(again) + remove(fresh)
        if len(fresh) < FILE_ROWS and len(again) < FILE_ROWS:
            return written, removed


def _delete(db: Database, source: Source, month: datetime, end: datetime, cut: datetime, keys: list[Any]) -> int:
    deleted = 0
    for i in range(0, len(keys), PAGE):
        with db.transaction() as session:
            deleted += repository.delete_keys(session, source, month, end, cut, keys[i:i + PAGE])
    return deleted


def _export_kept(db: Database, source: Source, out: Path | None, end: datetime, dry_run: bool) -> list[Line]:
    """Every month of a kept table before `end`, one file each (a month whose file exists is left as it is)."""
    with db.transaction() as session:
        first = repository.earliest(session, source, end)
    lines = []
    for month in months(first, end) if first is not None else []:
        after = add_months(month, 1)
        if dry_run:
            with db.transaction() as session:
                n = repository.count(session, source, month, after)
            if n:
                lines.append(Line(source.name, label(month), "would export", n))
            continue
        assert out is not None
        path = out / files.name_for(source.name, label(month))
        if path.exists():
            lines.append(Line(source.name, label(month), "already exported", 0))
            continue
        writer, last = files.Writer(path, source.columns), None
        while True:
            with db.transaction() as session:
                rows = repository.page(session, source, month, after, None, last, PAGE)
            if not rows:
                break
            writer.write([tuple(r) for r in rows])
            last = getattr(rows[-1], source.key)
        if writer.rows:
            n = writer.rows
            lines.append(Line(source.name, label(month), "exported", n, (path,), writer.close()))
        else:
            writer.discard()
    return lines


def _sizes(paths: list[Path]) -> tuple[tuple[Path, ...], int]:
    return tuple(paths), sum(p.stat().st_size for p in paths)
