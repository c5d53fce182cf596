"""Backups taken while the service writes (issue 17, "Restart and recover"): `langganan backup PATH` with SQLite's
online backup API, or pg_dump's custom format restored with pg_restore into a fresh database; the copy is the
database at one instant (the usage events a thread was writing one after another are in it up to some event and
none after) and `langganan verify` finds it clean."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from langganan.accounts.models import Account
from langganan.invoices.models import Invoice
from langganan.wallets.models import EntryType, WalletEntry
from tests.conftest import Env, empty_pg_database
from tests.integration.test_graceful_stop import funded_accounts
from tests.process_support import CLI, PATIENCE, child_env, verify, wait_until


class Writer:
    """A thread posting usage events w-0, w-1, ... one after another, each answered before the next is sent."""

    def __init__(self, env: Env, account_id: str) -> None:
        self.env, self.account_id = env, account_id
        self.written = 0
        self.stop = threading.Event()
        self.failure: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            res = self.env.post("/v1/usage", {"id": f"w-{self.written}", "account_id": self.account_id,
                                              "meter": "conversation_reply"})
            if res.status_code != 201:
                self.failure = res.text
                return
            self.written += 1

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=PATIENCE)


def backup(env: Env, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "backup", str(path)], env=child_env(env), capture_output=True, text=True,
                          timeout=PATIENCE)


@pytest.fixture
def restored_url(env: Env, tmp_path: Path) -> Iterator[str]:
    """Where the backup is opened: the copied file (SQLite), or a fresh database made for pg_restore."""
    if env.db.dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'backup.db'}"
        return
    with empty_pg_database(f"{make_url(env.db.url).database}_restored") as url:
        yield url


def test_a_backup_taken_while_usage_is_written_is_one_instant_and_verifies(
        env: Env, tmp_path: Path, restored_url: str) -> None:
    [account] = funded_accounts(env, 1)
    path = tmp_path / ("backup.db" if env.db.dialect == "sqlite" else "backup.dump")
    with Writer(env, account) as writer:
        wait_until("events written", lambda: writer.written >= 20 or writer.failure is not None)
        before = writer.written
        done = backup(env, path)
        after = writer.written
        wait_until("events written after the backup", lambda: writer.written > after or writer.failure is not None)
    assert writer.failure is None, writer.failure
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backed up" in done.stdout and path.is_file() and not path.with_name(path.name + ".partial").exists()
    if env.db.dialect == "postgresql":
        restore = shutil.which("pg_restore")
        assert restore, "pg_restore is not on PATH"
        dsn = make_url(restored_url).set(drivername="postgresql").render_as_string(hide_password=False)
        loaded = subprocess.run([restore, "--no-owner", "--exit-on-error", "--dbname", dsn, str(path)],
                                capture_output=True, text=True, timeout=PATIENCE)
        assert loaded.returncode == 0, loaded.stderr
    copy = create_engine(restored_url)
    try:
        with copy.connect() as conn:
            ids = conn.scalars(select(WalletEntry.reference).where(WalletEntry.type == EntryType.USAGE)).all()
            counts = [conn.scalar(select(func.count()).select_from(t)) for t in (Account, Invoice)]
    finally:
        copy.dispose()
    # one instant: the events up to one of them, none missing before it and none after it
    assert sorted(ids, key=lambda i: int(i.split("-")[1])) == [f"w-{n}" for n in range(len(ids))]
    assert before <= len(ids) <= after
    print(f"\nwritten before the backup began {before}, in the copy {len(ids)}, when it ended {after}")
    with env.db.transaction() as s:
        assert counts == [s.scalar(select(func.count()).select_from(t)) for t in (Account, Invoice)]
    code, output = verify({**child_env(env), "LANGGANAN_DATABASE_URL": restored_url}, tmp_path / "verify.log")
    assert code == 0, output


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_backup_never_overwrites_a_file(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "taken.db"
    path.write_bytes(b"an earlier backup")
    done = backup(env, path)
    assert done.returncode == 1 and "exists: choose a new file" in done.stdout, done.stdout + done.stderr
    assert path.read_bytes() == b"an earlier backup"


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_without_pg_dump_the_backup_says_what_to_run(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "backup.dump"
    done = subprocess.run([CLI, "backup", str(path)], env={**child_env(env), "PATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 1, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert "pg_dump was not found on PATH" in out and f"pg_dump --format=custom --file {path} --dbname " \
        "postgresql://" in out, out
    assert not path.exists()
