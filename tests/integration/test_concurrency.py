"""Races over real HTTP: many clients on one wallet never overdraw it nor count an event twice.

The server is a real uvicorn on a loopback port, with either HTTP parser; each test runs on SQLite
and on PostgreSQL and ends with the same invariant check `langganan verify` runs.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from langganan.usage.endpoints import run_ingest
from langganan.usage.service import UsageIn, UsageResult
from langganan.verify import violations
from tests.conftest import Env

CLIENTS = 32


@pytest.fixture(params=["httptools", "h11"])
def server(env: Env, request: pytest.FixtureRequest) -> Iterator[str]:
    """uvicorn with the HTTP parser `serve` picks (httptools), and with its pure-Python fallback (h11)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(env.client.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                            http=request.param)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def _fund_exactly(env: Env, account_id: str, events: int) -> None:
    """Leave the conversation wallet holding exactly `events` replies (Rp30 each)."""
    from langganan.wallets import repository
    from langganan.wallets import service as wallets

    now = env.now()
    with env.db.transaction() as s:
        w = repository.get(s, account_id, "conversation", for_update=True)
        wallets.expire_grant(s, w, now)
        wallets.record(s, w, "adjustment", events * 30, now, reference="test funding")


def _post_all(base: str, headers: dict[str, str], bodies: list[dict[str, object]]) -> list[int]:
    local = threading.local()

    def send(body: dict[str, object]) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, headers=headers, timeout=60)
        return client.post("/v1/usage", json=body).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, bodies))


def test_racing_clients_get_exactly_what_the_balance_covers(env: Env, server: str) -> None:
    acc = env.account()
    n = 40
    _fund_exactly(env, acc["id"], n)
    bodies = [{"id": f"race-{i}", "account_id": acc["id"], "meter": "conversation_reply"} for i in range(2 * n)]
    codes = _post_all(server, env.headers, bodies)
    assert codes.count(201) == n and codes.count(402) == n
    wallet = env.wallet(acc["id"])
    assert wallet["balance"] == 0
    with env.db.transaction() as s:
        assert violations(s, env.settings) == []


def test_each_event_sent_three_times_concurrently_is_debited_once(env: Env, server: str) -> None:
    acc = env.account()
    bodies = [{"id": f"tri-{i}", "account_id": acc["id"], "meter": "conversation_reply"} for i in range(30)] * 3
    codes = _post_all(server, env.headers, bodies)
    assert codes.count(201) == 30 and codes.count(200) == 60
    assert env.wallet(acc["id"])["balance"] == 15000 - 30 * 30
    with env.db.transaction() as s:
        assert violations(s, env.settings) == []


def test_writers_racing_the_same_ids_on_one_wallet_debit_each_once_and_replay_the_first_result(env: Env) -> None:
    """Four transactions (as from four server processes) carry the same events at once: one stores each
    event, the others answer it as a duplicate of that result (an id committed while a transaction waited
    for the wallet's lock fails its insert, and the retry sees it)."""
    acc = env.account()
    ctx = env.client.app.state.ctx  # type: ignore[attr-defined]
    items = [UsageIn(f"same-{i}", acc["id"], "conversation_reply") for i in range(20)]
    start = threading.Barrier(4)

    def writer() -> list[UsageResult]:
        start.wait()
        return run_ingest(ctx, items)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: writer(), range(4)))
    for i in range(len(items)):
        results = [answer[i] for answer in answers]
        assert sorted(r.status for r in results) == ["accepted", "duplicate", "duplicate", "duplicate"]
        assert len({(r.amount, r.balance_after) for r in results}) == 1
    assert env.wallet(acc["id"])["balance"] == 15000 - 20 * 30
    with env.db.transaction() as s:
        assert violations(s, env.settings) == []
