"""`POST /v1/usage` has two paths: the fast lane (known key, well-formed body) and the FastAPI route
(everything else). Both must answer every case byte for byte the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan.app import create_app
from langganan.kit.db import Database
from tests.conftest import Env, make_settings, started_env


class CountRequests:
    """Counts the requests that reach the application's own middleware stack (the fast lane, in front of
    it, answers the others itself)."""

    def __init__(self, app: ASGIApp, calls: list[str]) -> None:
        self.app, self.calls = app, calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def route_calls() -> list[str]:
    return []


@pytest.fixture
def env(database: Database, route_calls: list[str]) -> Iterator[Env]:
    """The suite's env, its app counting in `route_calls` what the fast lane left to the application."""
    settings = make_settings(database)
    app = create_app(settings, database)
    app.add_middleware(CountRequests, calls=route_calls)
    with started_env(database, settings, app) as started:
        yield started


def send(env: Env, body: dict[str, Any], *, route: bool) -> tuple[int, Any]:
    headers = {**env.headers, **({"Idempotency-Key": f"k-{body['id']}-{body.get('quantity', 1)}"} if route else {})}
    response = env.client.post("/v1/usage", json=body, headers=headers)
    return response.status_code, response.json()


def test_both_paths_answer_every_case_alike(env: Env, route_calls: list[str]) -> None:
    acc = env.account()["id"]
    poor = env.account()["id"]
    env.ok(env.post("/v1/usage", {"id": "drain", "account_id": poor, "meter": "conversation_reply",
                                  "quantity": 500}), 201)  # 500 × Rp30 = the Free grant, balance 0
    cases = {
        "accepted": {"account_id": acc, "meter": "conversation_reply", "quantity": 2},
        "insufficient": {"account_id": poor, "meter": "conversation_reply"},
        "no account": {"account_id": "acc_nope", "meter": "conversation_reply"},
        "no meter": {"account_id": acc, "meter": "fax_page"},
        "quota": {"account_id": acc, "meter": "broadcast_message"},  # Free has no broadcasts
    }
    calls_before = len(route_calls)
    for name, fields in cases.items():
        calls_before = len(route_calls)
        fast = send(env, {"id": f"fast-{name}", **fields}, route=False)
        assert len(route_calls) == calls_before, f"{name}: the fast lane should have answered"
        slow = send(env, {"id": f"slow-{name}", **fields}, route=True)
        assert len(route_calls) == calls_before + 1, f"{name}: the route should have answered"
        calls_before += 1
        fast_body = {k: v for k, v in fast[1].items() if k != "id"}
        slow_body = {k: v for k, v in slow[1].items() if k != "id"}
        if name == "accepted":  # the second debit leaves a lower balance
            fast_body.pop("balance_after"), slow_body.pop("balance_after")
        assert (fast[0], fast_body) == (slow[0], slow_body), name
    # a duplicate replays the first result on both paths
    dup_fast = send(env, {"id": "fast-accepted", **cases["accepted"]}, route=False)
    dup_slow = send(env, {"id": "fast-accepted", **cases["accepted"]}, route=True)
    assert dup_fast[0] == dup_slow[0] == 200
    assert dup_fast[1] == dup_slow[1]
    assert dup_fast[1]["status"] == "duplicate"
    env.assert_books()


def test_a_batch_gets_the_same_answer_on_both_paths(env: Env, route_calls: list[str]) -> None:
    acc = env.account()["id"]
    events = [{"id": "b1", "account_id": acc, "meter": "conversation_reply"},
              {"id": "b2", "account_id": acc, "meter": "fax_page"},
              {"id": "b1", "account_id": acc, "meter": "conversation_reply"}]
    before = len(route_calls)
    fast = env.client.post("/v1/usage/batch", json={"events": events}, headers=env.headers)
    assert len(route_calls) == before
    slow = env.client.post("/v1/usage/batch", json={"events": events},
                           headers={**env.headers, "Idempotency-Key": "batch-1"})
    assert len(route_calls) == before + 1
    assert fast.status_code == slow.status_code == 200
    statuses = [(r["status"], r["code"]) for r in fast.json()["results"]]
    assert statuses == [("accepted", None), ("rejected", "meter_not_found"), ("duplicate", None)]
    from langganan.usage.schemas import UsageBatchOut

    # the lane writes the results itself: byte for byte what the route's response model writes
    assert fast.content == UsageBatchOut.model_validate(fast.json()).model_dump_json().encode()
    # the second time every accepted event is a duplicate with the first result, on the route as on the lane
    assert [r["status"] for r in slow.json()["results"]] == ["duplicate", "rejected", "duplicate"]
    assert slow.json()["results"][0] == fast.json()["results"][2]


def test_malformed_bodies_fall_through_to_the_route_and_get_its_errors(env: Env, route_calls: list[str]) -> None:
    acc = env.account()["id"]
    before = len(route_calls)
    response = env.client.post("/v1/usage", json={"id": "x", "account_id": acc, "meter": "conversation_reply",
                                                  "quantity": 0}, headers=env.headers)
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "quantity"
    assert len(route_calls) == before + 1


def test_occurred_at_needs_a_utc_offset_and_is_stored_as_the_same_instant(env: Env) -> None:
    acc = env.account()["id"]
    naive = env.post("/v1/usage", {"id": "n1", "account_id": acc, "meter": "conversation_reply",
                                   "occurred_at": "2026-01-15T09:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["param"] == "occurred_at"
    for event_id, path in (("o1", "/v1/usage"), ("o2", "/v1/usage/batch")):
        body = {"id": event_id, "account_id": acc, "meter": "conversation_reply",
                "occurred_at": "2026-01-15T09:00:00+07:00"}
        env.ok(env.post(path, body if path == "/v1/usage" else {"events": [body]}), 201 if path == "/v1/usage" else 200)
    from langganan.wallets.models import WalletEntry

    with env.db.transaction() as s:  # the event is stored as its usage debit
        stored = {e.reference: e.occurred_at for e in s.query(WalletEntry).filter(
            WalletEntry.type == "usage", WalletEntry.reference.in_(["o1", "o2"]))}
    assert {k: v.isoformat() for k, v in stored.items()} == {"o1": "2026-01-15T02:00:00+00:00",
                                                            "o2": "2026-01-15T02:00:00+00:00"}


def test_a_nul_or_a_query_string_leaves_the_lane_and_gets_the_applications_answer(
        env: Env, route_calls: list[str]) -> None:
    acc = env.account()["id"]
    body = b'{"id": "a\\u0000b", "account_id": "' + acc.encode() + b'", "meter": "conversation_reply"}'
    nul = env.client.post("/v1/usage", content=body, headers={**env.headers, "content-type": "application/json"})
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "invalid_characters"
    before = len(route_calls)
    queried = env.client.post("/v1/usage?x=1", json={"id": "q1", "account_id": acc, "meter": "conversation_reply"},
                              headers=env.headers)
    assert queried.status_code == 201
    assert len(route_calls) == before + 1  # the route answered it
    assert env.wallet(acc)["balance"] == 15000 - 30


def test_an_unexpected_failure_in_the_lane_is_answered_as_the_application_answers_it(
        env: Env, route_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    acc = env.account()["id"]

    def broken(items: object) -> object:
        raise RuntimeError("database went away")

    monkeypatch.setattr(env.client.app.state.usage_group, "run", broken)  # type: ignore[attr-defined]
    event = {"id": "u1", "account_id": acc, "meter": "conversation_reply"}
    for path, body in (("/v1/usage", event), ("/v1/usage/batch", {"events": [event]})):
        response = env.client.post(path, json=body, headers=env.headers)
        assert response.status_code == 500
        assert response.json() == {"error": {"type": "api_error", "code": "internal_error", "param": None,
                                             "message": "Something went wrong on our side; nothing was changed."}}
