"""SIGTERM drains (issue 17, "Restart and recover"): real `serve` and `worker` processes.

`serve` stops accepting connections at once, finishes the requests in flight and exits 0; under a load of
usage events every event that was answered 2xx is in the ledger exactly once and none is there twice, those
refused got a lost connection or a 503, and sent again to a restarted server each is stored once. `worker`
stopped in the middle of a batch finishes that batch (its renewals issued, its card charges made and
recorded) and begins no other; killed there instead, the batch rolls back; a worker started again renews
every subscription exactly once. `langganan verify` is clean after each.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, Engine

from langganan.app import make_context, open_database
from langganan.due import run_due
from langganan.invoices.models import Invoice
from langganan.payments.models import Payment, PaymentStatus
from langganan.subscriptions.models import Subscription
from tests.conftest import ADMIN_KEY, Env, make_settings
from tests.integration.test_due_workers import FEB_15, FEB_16, _assert_done_once, _due_set, _set_clock
from tests.process_support import (
    CONNECTION_LOST,
    PATIENCE,
    Load,
    Process,
    child_env,
    serve,
    start,
    usage_entries,
    verify,
    wait_until,
)

MAR_15 = datetime.fromisoformat("2026-03-15T10:00:00+07:00")
TOP_UP = 200_000  # rupiah per account: 6.666 replies at Rp30


def funded_accounts(env: Env, n: int) -> list[str]:
    """`n` accounts whose conversation wallets hold TOP_UP of paid credit (a paid top-up invoice each)."""
    ids = []
    for _ in range(n):
        account_id = env.account()["id"]
        env.top_up(account_id, "conversation", TOP_UP)
        ids.append(account_id)
    return ids


@contextmanager
def reader(env: Env) -> Iterator[Engine]:
    """A plain engine for looking while processes work: on SQLite it reads without taking the write lock (the
    app's sessions begin with BEGIN IMMEDIATE)."""
    engine = create_engine(env.db.url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def write_lock_held(env: Env) -> Iterator[None]:
    """Everything that writes usage waits while the block runs: SQLite's one write lock, or on PostgreSQL the
    ledger table locked against inserts (reads go on)."""
    if env.db.dialect == "sqlite":
        path = env.db.engine.url.database
        assert path
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            yield
            raw.execute("ROLLBACK")
        finally:
            raw.close()
        return
    with env.db.engine.connect() as conn:
        conn.execute(text("LOCK TABLE wallet_entries IN EXCLUSIVE MODE"))
        yield
        conn.rollback()


def refused(url: str) -> bool:
    """Whether a connection to the server is refused (one accepted just before the listener closed, and then
    dropped, is not that: polled again)."""
    try:
        httpx.get(f"{url}/openapi.json", timeout=5)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        return False
    return False


def test_serve_finishes_a_request_in_flight_and_refuses_new_connections(env: Env, tmp_path: Path) -> None:
    [account] = funded_accounts(env, 1)
    server = serve(child_env(env, lock_wait_seconds="600", shutdown_grace_seconds="600"), tmp_path / "serve.log")
    body = {"account_id": account, "meter": "conversation_reply"}
    try:
        assert httpx.post(f"{server.url}/v1/usage", json={"id": "before", **body}, timeout=PATIENCE,
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 201  # (the key cached)
        with socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE) as sock:
            with write_lock_held(env):
                sock.sendall(_request("/v1/usage", {"id": "in-flight", **body}))  # sent whole before what follows
                if env.db.dialect == "postgresql":
                    wait_until("the request to wait for the ledger's lock", lambda: _lock_waits(env) >= 1)
                # answered on a connection made after it: the server has read the request in flight
                assert httpx.get(f"{server.url}/openapi.json", timeout=PATIENCE).status_code == 200
                server.signal(signal.SIGTERM)
                wait_until("the server to stop accepting connections", lambda: refused(server.url))
                assert server.alive()  # still waiting for our lock, with the request in flight
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1)  # no answer yet
                sock.settimeout(PATIENCE)
            answer = _read_all(sock)  # the lock released: the request goes on and is answered
        assert answer.startswith(b"HTTP/1.1 201 "), answer
        assert server.wait() == 0, server.output()[-3000:]
    finally:
        server.kill()
    assert usage_entries(env.db, "in") == {"in-flight": 1}
    code, output = verify(child_env(env), tmp_path / "verify.log")
    assert code == 0, output


def _request(path: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            ).encode() + data


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def _lock_waits(env: Env) -> int:
    with env.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")).scalar_one())


def test_sigterm_under_load_loses_nothing_and_doubles_nothing(env: Env, tmp_path: Path) -> None:
    accounts = funded_accounts(env, 4)
    settings = child_env(env, shutdown_grace_seconds="600")
    # SQLite: the embedded default, one process with its worker in it
    server = serve(settings, tmp_path / "serve.log", worker=env.db.dialect == "sqlite")
    load = Load(server.url, accounts, "ev")
    try:
        load.start(threads=4)
        wait_until("40 events accepted", lambda: load.accepted() >= 40)
        server.signal(signal.SIGTERM)
        assert server.wait() == 0, server.output()[-3000:]
        wait_until("every load thread to lose its connection", lambda: load.running() == 0)
        load.finish()
    finally:
        load.stop.set()
        server.kill()
    statuses = load.statuses()
    assert set(statuses) <= {201, 503, CONNECTION_LOST}, statuses  # never a 500; a new id is never a duplicate
    assert all(load.retry_after), "a 503 without Retry-After"
    stored = usage_entries(env.db, "ev")
    answered = {event_id for event_id, seen in load.answers.items() if 201 in seen}
    assert answered and all(stored[event_id] == 1 for event_id in answered)  # no 2xx was lost
    assert set(stored) <= set(load.answers) and set(stored.values()) == {1}  # nothing stored twice
    # Sent again (what a client does after a lost connection or a 503), to the server started again:
    restarted = serve(settings, tmp_path / "serve-again.log")
    try:
        load.settle(restarted.url)
        restarted.signal(signal.SIGTERM)
        assert restarted.wait() == 0, restarted.output()[-3000:]
    finally:
        restarted.kill()
    stored = usage_entries(env.db, "ev")
    assert set(stored) == set(load.answers) and set(stored.values()) == {1}
    print(f"\n{len(load.answers)} events: {dict(statuses)} before the restart; {dict(load.statuses())} in all")
    code, output = verify(child_env(env), tmp_path / "verify.log")
    assert code == 0, output


# -- the worker ---------------------------------------------------------------------------------------

def _renewed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.type == "renewal", Invoice.period_start == FEB_15)) or 0)


def _pending_charges(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Payment).where(
            Payment.method == "card", Payment.status == PaymentStatus.PENDING)) or 0)


def _all_done(engine: Engine, subs: dict[str, str]) -> Callable[[], bool]:
    """Every subscription where the due run leaves it: card renewals charged (active to Mar 15), bank-transfer
    renewals unpaid (past_due)."""
    def done() -> bool:
        with engine.connect() as conn:
            rows = conn.execute(select(Subscription.id, Subscription.status, Subscription.current_period_end)
                                .where(Subscription.id.in_(list(subs)))).all()
        wanted = {sid: ("active", MAR_15) if method == "card" else ("past_due", FEB_15) for sid, method in subs.items()}
        return {sid: (status, end) for sid, status, end in rows} == wanted and _pending_charges(engine) == 0

    return done


@contextmanager
def sequence_locked(env: Env) -> Iterator[Connection]:
    """PostgreSQL: a due batch numbers its invoices just before it commits (invoices/numbering.py), on the
    month's counter row; while the block runs that row is locked (by the connection it gives), so a batch
    waits there with its subscriptions claimed, in the middle."""
    with env.db.engine.connect() as conn:
        conn.execute(text("SELECT last_value FROM invoice_sequences WHERE month = '2026/02' FOR UPDATE"))
        yield conn
        conn.rollback()


def _worker(env: Env, log: Path, name: str = "langganan-worker") -> Process:
    """`langganan worker` claiming 5 subscriptions a batch; its connections are named `name` (PGAPPNAME)."""
    return start(["worker"], {**child_env(env, due_batch="5", worker_interval_seconds="0.2"), "PGAPPNAME": name},
                 log)


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_worker_stopped_in_a_batch_finishes_it_and_one_killed_there_leaves_it_to_the_next(
        env: Env, tmp_path: Path) -> None:
    subs = _due_set(env, 30)
    with env.db.transaction() as s:  # the month's counter, so that it can be locked before the run
        s.execute(text("INSERT INTO invoice_sequences (month, last_value) VALUES ('2026/02', 0)"))
    _set_clock(env, FEB_16)
    workers: list[Process] = []
    with reader(env) as engine:
        try:
            # SIGTERM in the middle of a batch: the batch is finished, its charges made, no other begun
            with sequence_locked(env):
                workers.append(first := _worker(env, tmp_path / "first.log"))
                wait_until("the first batch to reach the counter", lambda: _lock_waits(env) >= 1)
                first.signal(signal.SIGTERM)
            assert first.wait() == 0, first.output()[-3000:]
            assert "stopped: the batch in hand was finished" in first.output()
            finished = _renewed(engine)
            assert 0 < finished <= 5 and _pending_charges(engine) == 0, (finished, first.output())
            # SIGKILL there: the database rolls the batch back when the connection goes
            with sequence_locked(env):
                workers.append(killed := _worker(env, tmp_path / "killed.log", "killed-worker"))
                wait_until("the next batch to reach the counter", lambda: _lock_waits(env) >= 1)
                killed.kill()
            wait_until("the killed worker's connections to end", lambda: _backends(env, "killed-worker") == 0)
            assert _renewed(engine) == finished
            # started again, it does the rest, once
            workers.append(last := _worker(env, tmp_path / "last.log"))
            wait_until("every subscription to be renewed", _all_done(engine, subs))
            last.signal(signal.SIGTERM)
            assert last.wait() == 0, last.output()[-3000:]
        finally:
            for worker in workers:
                worker.kill()
    _assert_done_once(env, subs)
    code, output = verify(child_env(env), tmp_path / "verify.log")
    assert code == 0, output


def _backends(env: Env, name: str) -> int:
    """The database's connections named `name`."""
    with env.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND application_name = :name"), {"name": name}).scalar_one())


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_worker_stopped_during_a_due_run_and_started_again_renews_everything_once(
        env: Env, tmp_path: Path) -> None:
    subs = _due_set(env, 30)
    _set_clock(env, FEB_16)
    workers: list[Process] = []
    with reader(env) as engine:
        try:
            workers.append(first := _worker(env, tmp_path / "first.log"))
            wait_until("the first renewals", lambda: _renewed(engine) >= 1)
            first.signal(signal.SIGTERM)
            assert first.wait() == 0, first.output()[-3000:]
            assert _pending_charges(engine) == 0  # the batch in hand was finished, its charges made
            workers.append(again := _worker(env, tmp_path / "again.log"))
            wait_until("every subscription to be renewed", _all_done(engine, subs))
            again.signal(signal.SIGTERM)
            assert again.wait() == 0, again.output()[-3000:]
        finally:
            for worker in workers:
                worker.kill()
    _assert_done_once(env, subs)
    code, output = verify(child_env(env), tmp_path / "verify.log")
    assert code == 0, output


def test_due_work_asked_to_stop_finishes_the_batch_in_hand_and_begins_no_other(env: Env) -> None:
    subs = _due_set(env, 12)
    _set_clock(env, FEB_16)
    settings = make_settings(env.db, due_batch=5)
    runner = make_context(settings, open_database(env.db.url, settings))
    asked = []

    def stopping() -> bool:  # no at the start and before the first batch, yes before the second
        asked.append(len(asked))
        return len(asked) > 2

    try:
        run_due(runner, stopping)
        with reader(env) as engine:
            assert 0 < _renewed(engine) <= 5 and _pending_charges(engine) == 0  # the batch, its charges made
        assert len(asked) == 3
        run_due(runner)  # the next run does the rest
    finally:
        runner.db.dispose()
    _assert_done_once(env, subs)
    env.assert_books()
