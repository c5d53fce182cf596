"""Backups taken while the service runs (`langganan backup PATH`, issue 17).

SQLite: SQLite's online backup API copies the database in one step, under one read transaction, so the copy
is the database at one instant; in WAL mode writers go on meanwhile (they never wait for a reader). The copy
is written beside PATH and renamed onto it when complete, and is one self-contained file (rollback journal
mode; the application turns WAL on again when it opens it). To restore: stop the service, put the file in
the database's place (and remove any `-wal`/`-shm` files left beside it), start the service.

PostgreSQL: `pg_dump --format=custom` (found on PATH), which reads one snapshot of the database and takes no
lock a request or the worker waits for (only a migration's ACCESS EXCLUSIVE lock waits for it). To restore:
`createdb NEW && pg_restore --no-owner --dbname postgresql://.../NEW PATH`, then `langganan verify` on it.
pg_dump must be of the server's major version or newer. Without pg_dump, the command says what to run.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from langganan.kit.db import DEFAULT_BACKGROUND_WAIT, is_sqlite


class BackupError(Exception):
    """The backup could not be written; the message says why (nothing was left at the target path)."""


def backup(url: str, target: Path) -> str:
    """Write a consistent copy of the database at `url` to `target` (which must not exist); returns what was
    done, in one line."""
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file (a backup never overwrites one)")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    program = None if is_sqlite(url) else shutil.which("pg_dump")
    if not is_sqlite(url) and program is None:
        raise BackupError(f"pg_dump was not found on PATH: install PostgreSQL's client tools (the server's major "
                          f"version or newer), or run: pg_dump --format=custom --file {target} --dbname {_dsn(url)}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        how = sqlite_backup(url, partial) if program is None else pg_dump(url, partial, program)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return f"{how}: {target} ({target.stat().st_size:,} bytes)"


def sqlite_backup(url: str, target: Path) -> str:
    source = make_url(url).database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise BackupError(f"there is no SQLite database file at {source or url}")
    src = sqlite3.connect(source, timeout=DEFAULT_BACKGROUND_WAIT)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one instant
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {source}: {exc}") from exc
    finally:
        src.close()
    return f"SQLite online backup of {source}"


def _dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL, without its password."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def pg_dump(url: str, target: Path, program: str) -> str:
    """`pg_dump --format=custom` of the database at `url` (a SQLAlchemy URL) into `target`; the password, if
    the URL has one, goes to pg_dump in PGPASSWORD rather than on its command line."""
    parsed = make_url(url)
    env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
    done = subprocess.run([program, "--format=custom", "--file", str(target), "--dbname", _dsn(url)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()}")
    version = subprocess.run([program, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{version or 'pg_dump'}, custom format (restore with pg_restore) of {parsed.database}"
