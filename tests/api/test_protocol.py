"""The HTTP protocol of API.md: idempotency, pagination, the event log, operations endpoints,
the OpenAPI document and the error body shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from langganan.apikeys import service as apikeys
from tests.api.test_bad_input import assert_error, snapshot, unchanged, unpaid_invoice
from tests.conftest import Env

ACCOUNT = {"name": "Toko Idempoten", "email": "idem@example.id"}


def integration_headers(env: Env) -> dict[str, str]:
    with env.db.transaction() as s:
        _, token = apikeys.create(s, role="integration", name="t", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def account_count(env: Env) -> int:
    return int(snapshot(env)["counts"]["accounts"])


# -- idempotency --------------------------------------------------------------------------------

def test_same_key_and_body_replays_the_first_response(env: Env) -> None:
    first = env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "create-1"))
    assert first.status_code == 201, first.text
    again = env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "create-1"))
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert account_count(env) == 1
    assert env.event_types(first.json()["id"]).count("account.created") == 1


def test_same_key_with_another_body_is_refused(env: Env) -> None:
    first = env.ok(env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "create-2")), 201)
    with unchanged(env, first["id"]):
        assert_error(env.post("/v1/accounts", {**ACCOUNT, "name": "Toko Lain"},
                              headers=with_key(env.headers, "create-2")), 409, "idempotency_key_reused")
        # The key belongs to its path too: the same key and body on another endpoint is another request.
        assert_error(env.post(f"/v1/accounts/{first['id']}/subscription/cancel", {},
                              headers=with_key(env.headers, "create-2")), 409, "idempotency_key_reused")
    assert env.ok(env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "create-2")), 201) == first


def test_keys_are_scoped_per_api_key(env: Env) -> None:
    integration = integration_headers(env)
    admin_made = env.ok(env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "shared")), 201)
    other_made = env.ok(env.post("/v1/accounts", ACCOUNT, headers=with_key(integration, "shared")), 201)
    assert other_made["id"] != admin_made["id"]
    # Each key replays its own first response.
    assert env.ok(env.post("/v1/accounts", ACCOUNT, headers=with_key(integration, "shared")), 201) == other_made
    assert env.ok(env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "shared")), 201) == admin_made
    assert account_count(env) == 2


def test_a_failed_request_is_replayed_not_redone(env: Env) -> None:
    bad = {**ACCOUNT, "currency": "USD"}
    first = env.post("/v1/accounts", bad, headers=with_key(env.headers, "bad-1"))
    err = assert_error(first, 422, "unsupported_currency", "currency")
    again = env.post("/v1/accounts", bad, headers=with_key(env.headers, "bad-1"))
    assert again.status_code == 422
    assert again.json()["error"] == err
    assert account_count(env) == 0


def test_without_a_key_every_post_is_new(env: Env) -> None:
    env.ok(env.post("/v1/accounts", ACCOUNT), 201)
    env.ok(env.post("/v1/accounts", ACCOUNT), 201)
    assert account_count(env) == 2


# -- pagination ---------------------------------------------------------------------------------

def test_accounts_page_newest_first_until_has_more_is_false(env: Env) -> None:
    created = [env.ok(env.post("/v1/accounts", {"name": f"Toko {i}", "email": f"t{i}@example.id"}), 201)["id"]
               for i in range(25)]
    seen: list[str] = []
    sizes: list[int] = []
    after: str | None = None
    while True:
        page = env.ok(env.get("/v1/accounts?limit=10" + (f"&starting_after={after}" if after else "")))
        assert set(page) == {"data", "has_more"}
        seen += [a["id"] for a in page["data"]]
        sizes.append(len(page["data"]))
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert sizes == [10, 10, 5]
    assert len(set(seen)) == 25
    assert seen == list(reversed(created))
    default = env.ok(env.get("/v1/accounts"))
    assert [a["id"] for a in default["data"]] == seen[:20]
    assert default["has_more"] is True
    last = env.ok(env.get(f"/v1/accounts?limit=100&starting_after={created[0]}"))
    assert last == {"data": [], "has_more": False}


@pytest.mark.parametrize("path", ["/v1/accounts", "/v1/events", "/v1/invoices"])
@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_limit_must_be_1_to_100(env: Env, path: str, limit: str) -> None:
    with unchanged(env):
        assert_error(env.get(f"{path}?limit={limit}"), 422, "invalid_parameter", "limit")


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(env: Env, limit: int) -> None:
    env.account()
    assert len(env.ok(env.get(f"/v1/accounts?limit={limit}"))["data"]) == 1


# -- events, operations -------------------------------------------------------------------------

def test_events_list_what_happened(env: Env) -> None:
    acc = env.account(start_trial=True)
    other = env.account()
    types = env.event_types(acc["id"])
    assert types[0] == "account.created"
    assert {"subscription.created", "trial.started", "account.billing_info_updated"} <= set(types)
    page = env.ok(env.get(f"/v1/events?account_id={acc['id']}&type=account.created"))
    assert page["has_more"] is False
    [event] = page["data"]
    assert event["type"] == "account.created"
    assert event["account_id"] == acc["id"]
    assert event["data"]["account_id"] == acc["id"]
    assert datetime.fromisoformat(event["created_at"]) == env.now()
    everything = env.ok(env.get("/v1/events?type=account.created"))["data"]
    assert {e["account_id"] for e in everything} == {acc["id"], other["id"]}


def test_healthz(env: Env) -> None:
    res = env.client.get("/healthz")
    assert res.status_code == 200
    assert res.json()["status"] == "ok"


OPERATIONS = [
    ("get", "/v1/plans"), ("get", "/v1/add-ons"), ("get", "/v1/meters"),
    ("post", "/v1/accounts"), ("get", "/v1/accounts"), ("get", "/v1/accounts/{account_id}"),
    ("put", "/v1/accounts/{account_id}/billing-info"), ("put", "/v1/accounts/{account_id}/usage-counts"),
    ("get", "/v1/accounts/{account_id}/subscription"),
    ("post", "/v1/accounts/{account_id}/subscription/preview"),
    ("post", "/v1/accounts/{account_id}/subscription/change"),
    ("post", "/v1/accounts/{account_id}/subscription/renew"),
    ("post", "/v1/accounts/{account_id}/subscription/cancel"),
    ("get", "/v1/invoices"), ("get", "/v1/invoices/{invoice_id}"), ("get", "/v1/invoices/{invoice_id}/pdf"),
    ("post", "/v1/invoices/{invoice_id}/pay"), ("post", "/v1/invoices/{invoice_id}/mark-paid"),
    ("post", "/v1/invoices/{invoice_id}/cancel"), ("post", "/v1/accounts/{account_id}/payment-methods"),
    ("post", "/v1/gateways/{provider}/notifications"), ("get", "/v1/events"),
    ("post", "/v1/sandbox/cards"), ("post", "/v1/sandbox/bank-transfers"), ("get", "/v1/sandbox/clock"),
    ("post", "/v1/sandbox/clock/advance"), ("get", "/healthz"), ("get", "/metrics"),
    ("post", "/v1/accounts/{account_id}/subscription/auto-renew"),
    ("post", "/v1/accounts/{account_id}/subscription/extend-trial"),
    ("post", "/v1/promotions"), ("get", "/v1/promotions"), ("get", "/v1/promotions/{promotion}"),
    ("get", "/v1/promotions/{promotion}/redemptions"), ("post", "/v1/accounts/{account_id}/promotions"),
]


def test_openapi_describes_the_api(env: Env) -> None:
    res = env.client.get("/openapi.json")
    assert res.status_code == 200
    paths = res.json()["paths"]
    missing = [f"{m.upper()} {p}" for m, p in OPERATIONS if m not in paths.get(p, {})]
    assert missing == []
    assert "application/pdf" in paths["/v1/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]["content"]
    assert env.client.get("/docs").status_code == 200


# -- the error body shape -----------------------------------------------------------------------------

def _bad_requests(env: Env) -> list[tuple[str, Any, int, str]]:
    """One bad request per way an error is made: (label, response, status, code)."""
    acc, invoice = unpaid_invoice(env)
    inv, path = invoice["id"], f"/v1/accounts/{acc['id']}"
    json_headers = {**env.headers, "Content-Type": "application/json"}
    declined = env.card(acc["id"], "4000000000000002")
    pro = env.account()
    env.buy(pro["id"], "pro")
    env.ok(env.put(f"/v1/accounts/{pro['id']}/usage-counts", {"users": 20}))
    return [
        ("invalid json", env.client.post("/v1/accounts", content=b"{", headers=json_headers), 400, "invalid_json"),
        ("missing", env.post("/v1/accounts", {"name": "x"}), 422, "missing_parameter"),
        ("unknown", env.post("/v1/accounts", {**ACCOUNT, "x": 1}), 422, "unknown_parameter"),
        ("invalid", env.put(f"{path}/usage-counts", {"users": 1.5}), 422, "invalid_parameter"),
        ("domain 422", env.post("/v1/accounts", {**ACCOUNT, "currency": "USD"}), 422, "unsupported_currency"),
        ("query", env.get("/v1/accounts?limit=0"), 422, "invalid_parameter"),
        ("no key", env.get("/v1/accounts", headers={}), 401, "missing_api_key"),
        ("wrong key", env.get("/v1/accounts", headers={"Authorization": "Bearer nope"}), 401, "invalid_api_key"),
        ("role", env.post(f"/v1/invoices/{inv}/mark-paid", {"reference": "r"}, headers=integration_headers(env)),
         403, "forbidden"),
        ("not found", env.get("/v1/invoices/inv_nope"), 404, "invoice_not_found"),
        ("no route", env.get("/v1/nope"), 404, "not_found"),
        ("method", env.client.delete("/v1/accounts", headers=env.headers), 405, "method_not_allowed"),
        ("conflict", env.post(f"{path}/subscription/cancel", {}), 409, "already_free"),
        ("limits", env.post(f"/v1/accounts/{pro['id']}/subscription/change", {"plan": "growth"}), 409,
         "limit_exceeded"),
        ("declined", env.post(f"/v1/invoices/{inv}/pay", {"payment_method": "card", "payment_method_id": declined}),
         402, "card_declined"),
        ("signature", env.client.post("/v1/gateways/sandbox/notifications", content=b"{}", headers={}), 401,
         "invalid_signature"),
        ("idempotency", env.post("/v1/accounts", ACCOUNT, headers=with_key(env.headers, "k")), 201, ""),
        ("reused", env.post("/v1/accounts", {**ACCOUNT, "name": "y"}, headers=with_key(env.headers, "k")), 409,
         "idempotency_key_reused"),
        ("clock", env.post("/v1/sandbox/clock/advance", {"to": "2020-01-01T00:00:00+00:00"}), 409,
         "clock_backwards"),
    ]


def test_every_error_has_exactly_type_code_message_param(env: Env) -> None:
    allowed_extra = {"limit_exceeded": {"limits"}, "card_declined": {"payment_id", "invoice_id"}}
    for label, res, status, code in _bad_requests(env):
        assert res.status_code == status, (label, res.text)
        if status < 400:
            continue
        assert res.headers["content-type"].startswith("application/json"), label
        assert set(res.json()) == {"error"}, (label, res.text)
        err = res.json()["error"]
        assert set(err) == {"type", "code", "message", "param"} | allowed_extra.get(code, set()), (label, err)
        assert err["code"] == code, (label, err)
        assert isinstance(err["type"], str) and err["type"], (label, err)
        assert isinstance(err["message"], str) and err["message"].strip(), (label, err)
        assert err["param"] is None or isinstance(err["param"], str), (label, err)


@pytest.mark.parametrize(("method", "path", "status", "code"), [("GET", "/v1/nope", 404, "not_found"),
                                                                ("DELETE", "/v1/accounts", 405,
                                                                 "method_not_allowed")])
def test_unknown_route_message_is_a_sentence(env: Env, method: str, path: str, status: int, code: str) -> None:
    assert_error(env.client.request(method, path, headers=env.headers), status, code, None)
