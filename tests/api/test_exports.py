"""CSV exports (GET /v1/exports/{kind}.csv, `langganan export`): whole days in the seller's zone, streamed in
pages, the same rows as the books, admin keys only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langganan.apikeys import service as apikeys
from langganan.exports import tables
from tests.conftest import Env


def _csv(env: Env, path: str, **kw: str) -> list[dict[str, str]]:
    res = env.client.get(path, params=kw, headers=env.headers)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert "attachment" in res.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(res.text)))


def test_invoices_payments_ledger_and_usage(env: Env) -> None:
    acc = env.account()
    paid = env.buy(acc["id"], "growth")
    env.ok(env.post("/v1/usage", {"id": "msg-1", "account_id": acc["id"], "meter": "conversation_reply",
                                  "quantity": 3}), 201)
    today = env.now().date().isoformat()  # 15 January 2026 10:00 in Jakarta
    invoices = _csv(env, "/v1/exports/invoices.csv", since=today, until=today)
    assert [(r["number"], r["status"], r["total"], r["type"]) for r in invoices] == \
        [(paid["number"], "paid", str(paid["total"]), "subscription")]
    assert invoices[0]["issued_at"].endswith("Z")
    payments = _csv(env, "/v1/exports/payments.csv")
    assert [(p["invoice_id"], p["status"], p["method"], p["amount"]) for p in payments] == \
        [(paid["id"], "succeeded", "bank_transfer", str(paid["total"]))]
    usage = _csv(env, "/v1/exports/usage.csv", since=today)
    assert [(u["event_id"], u["meter"], u["quantity"], u["amount"]) for u in usage] == \
        [("msg-1", "conversation_reply", "3", "90")]  # Rp30 a reply, written as what was debited
    ledger = _csv(env, "/v1/exports/ledger.csv")
    wallet = env.wallet(acc["id"])
    last = [r for r in ledger if r["account_id"] == acc["id"] and r["wallet"] == "conversation"][-1]
    assert (last["type"], last["amount"], last["balance_after"]) == ("usage", "-90", str(wallet["balance"]))
    assert sum(int(r["amount"]) for r in ledger if r["account_id"] == acc["id"] and r["wallet"] == "conversation") \
        == wallet["balance"]  # the ledger adds up to the balance
    assert _csv(env, "/v1/exports/credit-notes.csv") == []
    tomorrow = _csv(env, "/v1/exports/invoices.csv", since="2026-01-16")
    assert tomorrow == []  # a whole day in the seller's zone: nothing issued since


def test_bad_input_and_roles(env: Env) -> None:
    res = env.client.get("/v1/exports/invoices.csv", params={"since": "15/01/2026"}, headers=env.headers)
    assert res.status_code == 422 and res.json()["error"]["param"] == "since"
    res = env.client.get("/v1/exports/invoices.csv", params={"since": "2026-02-01", "until": "2026-01-01"},
                         headers=env.headers)
    assert res.status_code == 422 and res.json()["error"]["code"] == "invalid_date_range"
    assert env.client.get("/v1/exports/customers.csv", headers=env.headers).status_code == 422
    with env.db.transaction() as s:
        _, token = apikeys.create(s, role="integration", name="app", now=datetime.now(UTC))
    refused = env.client.get("/v1/exports/payments.csv", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403  # finance data: admin keys only


def test_a_large_export_is_read_in_pages(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    acc = env.account()
    for i in range(7):
        env.ok(env.post("/v1/usage", {"id": f"m-{i}", "account_id": acc["id"], "meter": "conversation_reply"}), 201)
    monkeypatch.setattr(tables, "PAGE", 3)  # 7 rows: pages of 3, 3 and 1, each after the last key
    rows = _csv(env, "/v1/exports/usage.csv")
    assert [r["event_id"] for r in rows] == [f"m-{i}" for i in range(7)]


def test_the_cli_writes_the_same_file(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from langganan.cli import app

    acc = env.account()
    env.buy(acc["id"], "pro")
    api = env.client.get("/v1/exports/invoices.csv", headers=env.headers).text
    monkeypatch.setenv("LANGGANAN_DATABASE_URL", env.db.url)
    monkeypatch.setenv("LANGGANAN_SANDBOX_GATEWAY_SECRET", "test-secret")
    out = tmp_path / "invoices.csv"
    done = CliRunner().invoke(app, ["export", "invoices", "--output", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == api.encode()  # byte for byte, CRLF line ends included
    bad = CliRunner().invoke(app, ["export", "customers"])
    assert bad.exit_code == 2 and "unknown export" in bad.output
