"""Request bodies are bounded while they are read (kit/bodylimit.py), and /v1 requests without a known API
key are answered before their body is read (apikeys/gate.py). The ASGI-level cases drive the app's own
callable with a body that arrives in chunks, and count what the app took in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from langganan.accounts.models import Account
from langganan.app import create_app, prepare
from langganan.config import DEFAULT_BODY_LIMITS
from langganan.kit.db import Database
from langganan.kit.models import IdempotencyRecord
from tests.conftest import ADMIN_KEY, Env, make_settings

DEFAULT, BATCH = DEFAULT_BODY_LIMITS["default"], DEFAULT_BODY_LIMITS["usage_batch"]
BIG = 64 * 1024 * 1024
CHUNK = 16 * 1024
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    messages_read: int  # http.request messages the app asked for
    bytes_read: int


def send(client: TestClient, path: str, headers: dict[str, str], *, size: int, announce: bool,
         chunk: int = CHUNK, body: bytes | None = None) -> Outcome:
    """POST `size` bytes (or `body`) to the app in `chunk`-sized messages, with a Content-Length when
    `announce`, else chunked; the body is made as it is asked for, like a client still sending."""
    if body is not None:
        size = len(body)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(size).encode()) if announce else (b"transfer-encoding", b"chunked"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": raw, "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    read = {"messages": 0, "bytes": 0}
    response: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        if read["bytes"] >= size and read["messages"]:
            return {"type": "http.disconnect"}
        n = min(chunk, size - read["bytes"])
        piece = body[read["bytes"]:read["bytes"] + n] if body is not None else b" " * n
        read["messages"] += 1
        read["bytes"] += n
        return {"type": "http.request", "body": piece, "more_body": read["bytes"] < size}

    async def respond(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
        else:
            response["body"] += message.get("body", b"")

    async def run() -> None:
        await client.app(scope, receive, respond)  # type: ignore[arg-type]

    client.portal.call(run)  # type: ignore[union-attr]
    return Outcome(response["status"], json.loads(response["body"] or b"{}"), read["messages"], read["bytes"])


def assert_error(outcome: Outcome | Any, status: int, code: str) -> None:
    body = outcome.body if isinstance(outcome, Outcome) else outcome.json()
    got = outcome.status if isinstance(outcome, Outcome) else outcome.status_code
    assert got == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "param"}, body
    assert body["error"]["code"] == code, body


def accounts(env: Env) -> int:
    with env.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Account)) or 0)


def test_an_oversized_content_length_is_refused_before_a_byte_is_read(env: Env) -> None:
    before = accounts(env)
    for path, limit in (("/v1/accounts", DEFAULT), ("/v1/usage", DEFAULT), ("/v1/usage/batch", BATCH)):
        refused = send(env.client, path, ADMIN, size=limit + 1, announce=True)
        assert_error(refused, 413, "request_too_large")
        assert str(limit) in refused.body["error"]["message"]
        assert refused.messages_read == 0, path
    over = env.client.post("/v1/accounts", content=b"x" * (DEFAULT + 1),
                           headers={**env.headers, "Content-Type": "application/json", "Idempotency-Key": "big"})
    assert_error(over, 413, "request_too_large")
    assert accounts(env) == before
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_an_oversized_chunked_body_is_refused_as_soon_as_it_passes_the_limit(env: Env) -> None:
    before = accounts(env)
    for path, limit in (("/v1/accounts", DEFAULT), ("/v1/usage", DEFAULT), ("/v1/usage/batch", BATCH),
                        ("/v1/legacy-imports", DEFAULT_BODY_LIMITS["import"])):
        refused = send(env.client, path, {**ADMIN, "content-type": "application/json"}, size=BIG, announce=False)
        assert_error(refused, 413, "request_too_large")
        assert limit < refused.bytes_read <= limit + CHUNK, (path, refused.bytes_read)
    chunked = env.client.post("/v1/accounts", content=iter([b"x" * DEFAULT, b"y"]), headers=env.headers)
    assert_error(chunked, 413, "request_too_large")
    assert accounts(env) == before


@pytest.mark.parametrize("path", ["/v1/accounts", "/v1/usage", "/v1/usage/batch", "/v1/legacy-imports",
                                  "/v1/accounts/acc_x/payment-methods", "/v1/no-such-route"])
def test_a_v1_request_without_a_known_key_is_401_before_its_body_is_read(env: Env, path: str) -> None:
    for headers, code in (({}, "missing_api_key"), ({"authorization": "Bearer lgn_nope"}, "invalid_api_key"),
                          ({"authorization": "Basic YWRtaW46YWRtaW4="}, "missing_api_key")):
        for announce in (True, False):
            refused = send(env.client, path, {**headers, "content-type": "application/json"}, size=1000,
                           announce=announce)
            assert_error(refused, 401, code)
            assert refused.messages_read == 0, (path, headers, announce)


def test_routes_without_an_api_key_count_what_they_read_and_stop_at_the_limit(env: Env) -> None:
    for path in ("/v1/gateways/sandbox/notifications", "/console/login", "/portal/cards", "/nowhere"):
        refused = send(env.client, path, {"content-type": "application/x-www-form-urlencoded"}, size=BIG,
                       announce=False)
        assert_error(refused, 413, "request_too_large")
        assert refused.bytes_read <= DEFAULT + CHUNK, (path, refused.bytes_read)


def _events(prefix: str, account_id: str, n: int) -> list[dict[str, Any]]:
    """Events with the longest ids the API takes (200 characters)."""
    at = datetime(2026, 1, 15, 9, 59, 59, 999999, tzinfo=UTC).isoformat()
    return [{"id": f"{prefix}-{i:05d}-".ljust(200, "x"), "account_id": account_id, "meter": "conversation_reply",
             "quantity": 1, "occurred_at": at} for i in range(n)]


def test_a_batch_of_a_thousand_events_with_the_longest_ids_is_accepted(env: Env) -> None:
    acc = env.account()
    env.top_up(acc["id"], "conversation", 30_000)  # + Rp15.000 included: 1.300 events at Rp30
    batch = {"events": _events("a", acc["id"], 1000)}
    body = json.dumps(batch).encode()
    assert DEFAULT < len(body) < BATCH
    res = env.client.post("/v1/usage/batch", content=body, headers={**env.headers,
                                                                     "Content-Type": "application/json"})
    assert res.status_code == 200, res.text[:500]
    assert [r["status"] for r in res.json()["results"]] == ["accepted"] * 1000
    # the same size without a Content-Length is counted, not refused
    chunked = json.dumps({"events": _events("b", acc["id"], 300)}).encode()
    assert len(chunked) > DEFAULT
    out = send(env.client, "/v1/usage/batch", {**ADMIN, "content-type": "application/json"}, size=0,
               announce=False, body=chunked)
    assert out.status == 200 and [r["status"] for r in out.body["results"]] == ["accepted"] * 300


def test_a_legacy_import_may_be_larger_than_other_bodies(env: Env) -> None:
    csv = ("account_key,name,email,plan,enrolled_on,last_unpaid_month\n"
           + "".join(f"L-{i},Toko {i},t{i}@example.id,nope,2024-03-10,2025-12\n" for i in range(3000)))
    assert DEFAULT < len(csv) < DEFAULT_BODY_LIMITS["import"]
    res = env.client.post("/v1/legacy-imports?dry_run=true", content=csv.encode(),
                          headers={**env.headers, "Content-Type": "text/csv"})
    assert res.status_code == 200, res.text[:300]
    assert len(res.json()["results"]) == 3000


def test_the_limits_are_settings(database: Database) -> None:
    settings = make_settings(database, max_body_bytes=2048, max_body_bytes_usage_batch=4096)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
        small = client.post("/v1/accounts", content=b" " * 2049, headers=headers)
        assert_error(small, 413, "request_too_large")
        assert "2048 bytes" in small.json()["error"]["message"]
        assert client.post("/v1/usage/batch", content=b" " * 3000, headers=headers).status_code == 400  # not JSON
        assert_error(client.post("/v1/usage/batch", content=b" " * 4097, headers=headers), 413, "request_too_large")
