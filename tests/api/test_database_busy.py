"""A lock a request cannot have within its wait is answered 503 with Retry-After and the API error shape,
and changes nothing (issue 11): on SQLite while another connection holds the write lock, on PostgreSQL
when a row stays locked past lock_timeout or the app's connections are terminated. Never 500."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from starlette.types import Receive, Scope, Send

from langganan.app import create_app, open_database
from langganan.kit.asgi import send_json
from langganan.kit.db import Database
from langganan.kit.idempotency import IdempotencyMiddleware
from langganan.kit.models import IdempotencyRecord
from tests.conftest import Env

WAIT = 0.2  # seconds a request of the `quick` app waits for a lock


@pytest.fixture
def quick(env: Env) -> Iterator[Env]:
    """The same database, served by an app whose requests (and background work) wait WAIT seconds for a lock."""
    db = open_database(env.db.url, lock_wait=WAIT, background_wait=WAIT)
    with TestClient(create_app(env.settings, db)) as client:
        yield Env(db=db, settings=env.settings, client=client, headers=env.headers)
    db.dispose()


@contextmanager
def write_lock(env: Env) -> Iterator[None]:
    """Another process's connection holds SQLite's write lock (`BEGIN IMMEDIATE`) until the block ends."""
    holder = sqlite3.connect(env.db.url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def assert_busy(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert error["code"] == "database_busy" and error["type"] == "api_error" and "Try again" in error["message"]


def usage(account_id: str, event_id: str) -> dict[str, Any]:
    return {"id": event_id, "account_id": account_id, "meter": "conversation_reply"}


def counts(env: Env) -> tuple[Any, ...]:
    with env.db.transaction() as s:
        tables = ("accounts", "wallet_entries", "wallet_spend_hours", "idempotency_keys", "portal_links")
        return tuple(s.scalar(select(func.count()).select_from(text(t))) for t in tables)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_usage_while_another_process_holds_the_write_lock_is_503_and_changes_nothing(env: Env, quick: Env) -> None:
    acc = env.account()["id"]
    quick.ok(quick.get(f"/v1/accounts/{acc}"))
    balance, before = env.wallet(acc)["balance"], counts(env)
    with write_lock(env):
        assert_busy(quick.post("/v1/usage", usage(acc, "evt-1")))  # the fast lane and its group writer
        assert_busy(quick.post("/v1/usage/batch", {"events": [usage(acc, "evt-2"), usage(acc, "evt-3")]}))
        assert_busy(quick.post("/v1/usage", usage(acc, "evt-4"), headers={**env.headers, "Idempotency-Key": "u4"}))
        # an unknown key is refused even now: a key is read in one statement that takes no lock
        refused = quick.post("/v1/usage", usage(acc, "evt-5"), headers={"Authorization": "Bearer lgn_unknown"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert counts(env) == before and env.wallet(acc)["balance"] == balance
    # Nothing was kept of them: each id is accepted as new now, and the idempotency key was not spent.
    assert quick.ok(quick.post("/v1/usage", usage(acc, "evt-1")), 201)["status"] == "accepted"
    assert quick.ok(quick.post("/v1/usage", usage(acc, "evt-4"), headers={**env.headers, "Idempotency-Key": "u4"}),
                    201)["status"] == "accepted"
    results = quick.ok(quick.post("/v1/usage/batch", {"events": [usage(acc, "evt-2"), usage(acc, "evt-3")]}))
    assert [r["status"] for r in results["results"]] == ["accepted", "accepted"]
    assert env.wallet(acc)["balance"] == balance - 4 * 30
    env.assert_books()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_every_other_route_answers_503_too_and_an_idempotent_retry_then_succeeds(env: Env, quick: Env) -> None:
    acc = env.account()["id"]
    before = counts(env)
    new = {"name": "Warung Baru", "email": "baru@example.id", "external_id": "ext-busy"}
    with write_lock(env):
        assert_busy(quick.get(f"/v1/accounts/{acc}"))  # a read, too: every SQLite transaction takes the lock
        assert_busy(quick.post("/v1/accounts", new))
        assert_busy(quick.post("/v1/accounts", new, headers={**env.headers, "Idempotency-Key": "new-acc"}))
        assert_busy(quick.post(f"/v1/accounts/{acc}/top-ups", {"wallet": "conversation", "amount": 50000,
                                                               "payment_method": "bank_transfer"}))
        assert_busy(quick.get("/healthz"))
    assert counts(env) == before
    assert quick.ok(quick.get("/v1/accounts?external_id=ext-busy"))["data"] == []
    created = quick.post("/v1/accounts", new, headers={**env.headers, "Idempotency-Key": "new-acc"})
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers
    again = quick.post("/v1/accounts", new, headers={**env.headers, "Idempotency-Key": "new-acc"})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == created.json()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_portal_pages_answer_a_503_page_and_the_login_link_is_not_spent(env: Env, quick: Env) -> None:
    acc = env.account()["id"]
    url = env.ok(env.post(f"/v1/accounts/{acc}/portal-sessions"), 201)["url"]
    link = url[url.index("/portal/"):]
    visitor = TestClient(quick.client.app)
    with write_lock(env):
        page = visitor.get(link, follow_redirects=False)
    assert page.status_code == 503 and page.headers["retry-after"] == "2"
    assert page.headers["content-type"].startswith("text/html") and "Try again in a few seconds" in page.text
    opened = visitor.get(link, follow_redirects=False)  # the link was not used up by the failed visit
    assert opened.status_code == 303 and opened.headers["location"] == "/portal"
    with write_lock(env):
        page = visitor.get("/portal?lang=id")
    assert page.status_code == 503 and page.headers["retry-after"] == "2" and "Coba lagi" in page.text
    assert visitor.get("/portal").status_code == 200


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_legacy_dry_run_checks_a_copy_and_needs_no_lock_but_an_import_stops_at_503(env: Env, quick: Env) -> None:
    csv = ("account_key,name,email,plan,interval,enrolled_on,last_unpaid_month\n"
           "L-1,Toko Satu,satu@example.id,growth,month,2024-03-10,2025-12\n"
           "L-2,Toko Dua,dua@example.id,growth,month,2024-03-10,2025-12\n")
    headers = {**env.headers, "Content-Type": "text/csv"}
    quick.ok(quick.get("/v1/plans"))
    before = counts(env)
    with write_lock(env):
        dry = quick.ok(quick.client.post("/v1/legacy-imports?dry_run=true", content=csv.encode(), headers=headers))
        assert dry["dry_run"] is True and dry["summary"]["imported"] == 2  # checked on a copy of the file
        assert_busy(quick.client.post("/v1/legacy-imports", content=csv.encode(), headers=headers))
    assert counts(env) == before
    assert not list(Path(tempfile.gettempdir()).glob(f"langganan-snapshot-*-{os.getpid()}.db*"))  # copy deleted
    assert quick.ok(quick.client.post("/v1/legacy-imports", content=csv.encode(), headers=headers))["summary"][
        "imported"] == 2
    env.assert_books()


def test_an_answer_of_503_is_not_kept_for_its_idempotency_key(database: Database) -> None:
    calls: list[int] = []

    async def busy_app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(1)
        status = 503 if len(calls) == 1 else 201
        await send_json(send, status, {"n": len(calls)}, [(b"retry-after", b"2")] if status == 503 else None)

    client = TestClient(IdempotencyMiddleware(busy_app, database))
    headers = {"Authorization": "Bearer k", "Idempotency-Key": "same"}
    assert client.post("/v1/anything", json={"a": 1}, headers=headers).status_code == 503
    with database.transaction() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    retried = client.post("/v1/anything", json={"a": 1}, headers=headers)
    assert (retried.status_code, retried.json(), len(calls)) == (201, {"n": 2}, 2)  # run again, not replayed
    replayed = client.post("/v1/anything", json={"a": 1}, headers=headers)
    assert (replayed.status_code, replayed.json(), len(calls)) == (201, {"n": 2}, 2)
    database.dispose()


# -- PostgreSQL: a row lock held past lock_timeout, and connections the server terminated ---------------

@contextmanager
def row_lock(env: Env, sql: str, **params: Any) -> Iterator[None]:
    """Another connection holds the rows `sql` selects FOR UPDATE until the block ends."""
    with env.db.engine.connect() as conn:
        assert conn.execute(text(sql + " FOR UPDATE"), params).all()
        yield
        conn.rollback()


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_row_locked_past_the_requests_lock_timeout_is_503_on_postgresql(env: Env, quick: Env) -> None:
    acc = env.account()["id"]
    quick.ok(quick.get(f"/v1/accounts/{acc}"))
    balance, before = env.wallet(acc)["balance"], counts(env)
    with row_lock(env, "SELECT id FROM wallets WHERE account_id = :acc", acc=acc):
        assert_busy(quick.post("/v1/usage", usage(acc, "evt-1")))  # fast lane: the wallet is locked
        assert_busy(quick.post("/v1/usage/batch", {"events": [usage(acc, "evt-2")]}))
        quick.ok(quick.get(f"/v1/accounts/{acc}"))  # reading is not held up
    with row_lock(env, "SELECT id FROM accounts WHERE id = :acc", acc=acc):
        assert_busy(quick.put(f"/v1/accounts/{acc}/billing-info", {**_billing(env, acc), "city": "Bandung"}))
    assert counts(env) == before and env.wallet(acc)["balance"] == balance
    assert quick.ok(quick.get(f"/v1/accounts/{acc}"))["billing_info"]["city"] != "Bandung"
    assert quick.ok(quick.post("/v1/usage", usage(acc, "evt-1")), 201)["status"] == "accepted"
    env.assert_books()


def _billing(env: Env, account_id: str) -> dict[str, Any]:
    info = env.ok(env.get(f"/v1/accounts/{account_id}"))["billing_info"]
    return {k: v for k, v in info.items() if v is not None}


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_connections_the_server_terminated_are_503_then_the_next_request_reconnects(env: Env, quick: Env) -> None:
    acc = env.account()["id"]
    quick.ok(quick.get(f"/v1/accounts/{acc}"))  # the app now has a pooled connection
    with env.db.engine.connect() as admin:
        killed = admin.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        admin.rollback()
    assert killed >= 1
    assert_busy(quick.get(f"/v1/accounts/{acc}"))
    assert quick.ok(quick.get(f"/v1/accounts/{acc}"))["id"] == acc
