"""Two processes on one SQLite file (issue 11): `langganan serve` answers usage while `langganan clock
advance` works off half a year of due work for a few dozen subscriptions (seconds of work). Every usage
request is answered 201, or 503 with Retry-After in the API error shape; never 500. The books are right
afterwards."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Table as SqlTable
from sqlalchemy import func, insert, select

from langganan.kit.db import Database
from langganan.kit.ids import new_id
from langganan.models import metadata
from langganan.wallets.models import WalletEntry
from tests.conftest import ADMIN_KEY, Env

SUBSCRIPTIONS = 10  # of each kind (card, bank transfer); half a year of due work each
LOCK_WAIT = "0.05"  # seconds a request of the server waits for the write lock: short, so some are 503


def _clone(db: Database, account_id: str, count: int) -> None:
    """Copy an account's rows (account, card, wallets with their ledger, subscription) `count` times."""
    tables = {name: metadata.tables[name] for name in ("accounts", "payment_methods", "wallets", "wallet_entries",
                                                       "subscriptions")}
    with db.engine.begin() as conn:
        def rows(table: SqlTable, column: str, values: list[str]) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(  # in key order: a ledger is read in entry order
                select(table).where(table.c[column].in_(values)).order_by(*table.primary_key.columns))]

        account = rows(tables["accounts"], "id", [account_id])[0]
        cards = rows(tables["payment_methods"], "account_id", [account_id])
        wallets = rows(tables["wallets"], "account_id", [account_id])
        entries = rows(tables["wallet_entries"], "wallet_id", [w["id"] for w in wallets])
        sub = rows(tables["subscriptions"], "account_id", [account_id])[0]
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        for i in range(count):
            acc = new_id("acc")
            out["accounts"].append({**account, "id": acc, "external_id": None, "email": f"{i}.{account['email']}"})
            card_ids = {c["id"]: new_id("pm") for c in cards}
            out["payment_methods"] += [{**c, "id": card_ids[c["id"]], "account_id": acc} for c in cards]
            for wallet in wallets:
                wid = new_id("wal")
                out["wallets"].append({**wallet, "id": wid, "account_id": acc})
                out["wallet_entries"] += [{**{k: v for k, v in e.items() if k != "id"}, "wallet_id": wid,
                                           "account_id": acc} for e in entries if e["wallet_id"] == wallet["id"]]
            out["subscriptions"].append({**sub, "id": new_id("sub"), "account_id": acc,
                                         "payment_method_id": card_ids.get(sub["payment_method_id"])})
        for name, table in tables.items():
            if out[name]:
                conn.execute(insert(table), out[name])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_usage_is_answered_while_another_process_advances_the_clock_half_a_year(env: Env, tmp_path: Path) -> None:
    card_acc = env.account()["id"]
    env.ok(env.post(f"/v1/accounts/{card_acc}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": env.card(card_acc)}))
    bank_acc = env.account()["id"]
    env.buy(bank_acc, "growth")
    _clone(env.db, card_acc, SUBSCRIPTIONS - 1)
    _clone(env.db, bank_acc, SUBSCRIPTIONS - 1)
    user = env.account()["id"]
    env.top_up(user, "conversation", 1_000_000)

    cli = str(Path(sys.executable).with_name("langganan"))
    child_env = {**os.environ, "LANGGANAN_DATABASE_URL": env.db.url, "LANGGANAN_MODE": "sandbox",
                 "LANGGANAN_SANDBOX_GATEWAY_SECRET": env.settings.sandbox_gateway_secret,
                 "LANGGANAN_LOCK_WAIT_SECONDS": LOCK_WAIT}
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([cli, "serve", "--no-worker", "--port", str(port)], env=child_env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    answers: list[httpx.Response] = []
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        advance = subprocess.Popen([cli, "clock", "advance", "--days", "180"], env=child_env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60) as client:
            stop = time.monotonic() + 120  # (bounded: the advance takes seconds)
            while advance.poll() is None and time.monotonic() < stop:
                answers.append(client.post("/v1/usage", json={"id": f"evt-{len(answers)}", "account_id": user,
                                                              "meter": "conversation_reply"}))
                time.sleep(0.01)  # (a steady stream, leaving the advance some of the two cores)
        out, err = advance.communicate(timeout=120)
        assert advance.returncode == 0, (out, err)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert answers, "the advance ended before the first usage request"
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {201, 503}, (sorted(set(statuses)), (tmp_path / "serve.log").read_text()[-3000:])
    for busy in (r for r in answers if r.status_code == 503):
        assert busy.headers["retry-after"] == "2"
        assert busy.json()["error"]["code"] == "database_busy" and set(busy.json()["error"]) == \
            {"type", "code", "message", "param"}
    accepted = statuses.count(201)
    # Each 201 was debited once, each 503 not at all; the year of due work is done and the books add up.
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).where(WalletEntry.type == "usage")) == accepted
        assert s.scalar(select(func.sum(WalletEntry.amount)).where(WalletEntry.type == "usage")) == -30 * accepted
    assert "periods_rolled" in out
    renewed = env.subscription(card_acc)
    assert renewed["plan"] == "growth" and renewed["current_period_end"] > "2026-07-01"
    assert env.subscription(bank_acc)["plan"] == "free"  # never paid its renewal: Free after grace
    env.assert_books()  # what `langganan verify` checks


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_command_that_cannot_have_the_lock_says_so_in_one_line(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from langganan import cli

    for name, value in {"DATABASE_URL": env.db.url, "MODE": "sandbox", "LOCK_WAIT_SECONDS": "0.1",
                        "WORKER_LOCK_WAIT_SECONDS": "0.1"}.items():
        monkeypatch.setenv(f"LANGGANAN_{name}", value)
    monkeypatch.setattr(sys, "argv", ["langganan", "verify"])
    holder = sqlite3.connect(env.db.url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "the database was busy or unreachable" in out and "Traceback" not in out
