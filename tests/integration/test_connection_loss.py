"""Database connections lost mid-run (issue 17, "Restart and recover"), on PostgreSQL.

A `serve` process under a load of usage events and a `worker` renewing many subscriptions; the test
terminates every other backend of its own database (`pg_terminate_backend`), again and again, the first
times while the worker is in the middle of a batch. Requests answer 2xx or 503 with Retry-After, never
500; the pools recover by themselves; the worker rolls its batch back and claims it again; sent again, each
event is stored once; each subscription is renewed once and charged once; `langganan verify` is clean.
(The shared server itself is never restarted: other processes use it.)
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.conftest import Env
from tests.integration.test_due_workers import FEB_16, _assert_done_once, _due_set, _set_clock
from tests.integration.test_graceful_stop import _all_done, funded_accounts, sequence_locked
from tests.process_support import Load, child_env, serve, start, usage_entries, verify, wait_until

TERMINATE = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
             "AND pid <> pg_backend_pid() AND pid <> :spared")
ROUNDS_IN_A_BATCH = 3  # terminations while the worker waits in the middle of a batch
ROUNDS_UNDER_LOAD = 5  # then while requests go on
WORKER = "langganan-worker"  # the worker's connections' application_name (PGAPPNAME)


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_terminated_connections_are_answered_503_and_nothing_is_done_twice(env: Env, tmp_path: Path) -> None:
    accounts = funded_accounts(env, 4)
    subs = _due_set(env, 20)
    with env.db.transaction() as s:  # the month's counter, so that it can be locked (sequence_locked)
        s.execute(text("INSERT INTO invoice_sequences (month, last_value) VALUES ('2026/02', 0)"))
    _set_clock(env, FEB_16)
    settings = child_env(env)
    server = serve(settings, tmp_path / "serve.log")
    worker_env = child_env(env, due_batch="5", worker_interval_seconds="0.2", charge_lease_seconds="30")
    worker = start(["worker"], {**worker_env, "PGAPPNAME": WORKER}, tmp_path / "worker.log")
    load = Load(server.url, accounts, "ev")
    # the test's own connections are terminated too: it pings them before use
    admin = create_engine(env.db.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    terminated = 0
    try:
        load.start(threads=4)
        seen: set[int] = set()
        with sequence_locked(env) as gate:
            spared = int(gate.execute(text("SELECT pg_backend_pid()")).scalar_one())
            for _ in range(ROUNDS_IN_A_BATCH):
                # the worker (again, on a new connection) in the middle of a batch, its subscriptions claimed
                wait_until("a batch to wait for the counter", lambda: bool(_worker_waits(admin) - seen))  # noqa: B023
                seen |= _worker_waits(admin)
                terminated += _terminate(admin, spared)
                assert worker.alive(), worker.output()[-3000:]
        for _ in range(ROUNDS_UNDER_LOAD):
            accepted = load.accepted()
            wait_until("more events accepted", lambda: load.accepted() >= accepted + 10,  # noqa: B023
                       detail=load.statuses)
            terminated += _terminate(admin)
        wait_until("every subscription to be renewed", _all_done(admin, subs))
        accepted = load.accepted()
        wait_until("more events accepted", lambda: load.accepted() >= accepted + 10, detail=load.statuses)
        load.finish()
        assert server.alive() and worker.alive()
        statuses = load.statuses()
        load.settle(server.url)  # each event not answered 2xx, sent again
        server.signal(signal.SIGTERM)
        worker.signal(signal.SIGTERM)
        assert server.wait() == 0, server.output()[-3000:]
        assert worker.wait() == 0, worker.output()[-3000:]
    finally:
        load.stop.set()
        server.kill()
        worker.kill()
        admin.dispose()
    env.db.engine.dispose()  # (its pooled connections were terminated too)
    print(f"\nterminated {terminated} connections; {len(load.answers)} events: {dict(statuses)}; "
          f"{dict(load.statuses())} after sending again")
    assert set(statuses) <= {200, 201, 503}, statuses  # never a 500
    assert statuses[503] >= 1  # the terminations reached requests
    assert all(load.retry_after), "a 503 without Retry-After"
    stored = usage_entries(env.db, "ev")
    assert set(stored) == set(load.answers) and set(stored.values()) == {1}
    assert "the database was busy or unreachable" in worker.output()  # its batch failed and was tried again
    _assert_done_once(env, subs)
    code, output = verify(settings, tmp_path / "verify.log")
    assert code == 0, output


def _worker_waits(engine: Engine) -> set[int]:
    """The worker's connections (backend pids) waiting for a lock (requests may wait for a wallet's too)."""
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock' AND application_name = :name"),
                                {"name": WORKER}).scalars())



def _terminate(engine: Engine, spared: int = 0) -> int:
    """Terminate every backend of the test's database but this one and `spared` (outside a transaction: within
    one, pg_stat_activity is the snapshot its first look took)."""
    with engine.connect() as conn:
        return int(conn.execute(text(TERMINATE), {"spared": spared}).scalar_one())
