"""Bad input gets a clear error in the API.md shape, and a request that fails changes nothing
(API.md "Errors"), except that a declined card attempt is recorded as a failed payment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from langganan.apikeys import service as apikeys
from langganan.models import metadata
from tests.conftest import CLOCK_START, Env

ERROR_KEYS = {"type", "code", "message", "param"}
EXTRA_KEYS = {"limit_exceeded": {"limits"}}
PAYMENT_EXTRA = {"payment_id", "invoice_id"}  # a 402 names the failed payment and its invoice
ANY: Any = object()


def assert_error(res: Any, status: int, code: str, param: Any = ANY) -> dict[str, Any]:
    """The response is `{"error": {type, code, message, param}}` with a readable message."""
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json"), res.headers
    body = res.json()
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    allowed = ERROR_KEYS | EXTRA_KEYS.get(code, set()) | (PAYMENT_EXTRA if status == 402 else set())
    assert ERROR_KEYS <= set(err) <= allowed, err
    assert err["code"] == code, err
    assert isinstance(err["type"], str) and err["type"], err
    message = err["message"]
    assert isinstance(message, str) and len(message.split()) >= 2 and message.endswith((".", "?", "!")), err
    assert err["param"] is None or isinstance(err["param"], str), err
    if param is not ANY:
        assert err["param"] == param, err
    return err


def snapshot(env: Env, account_id: str | None = None, invoice_id: str | None = None) -> dict[str, Any]:
    """Row counts of every table (idempotency records aside), the subscription and an invoice."""
    with env.db.engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in metadata.sorted_tables if t.name != "idempotency_keys"}
    state: dict[str, Any] = {"counts": counts}
    if account_id:
        state["subscription"] = env.subscription(account_id)
    if invoice_id:
        state["invoice"] = env.ok(env.get(f"/v1/invoices/{invoice_id}"))
    return state


@contextmanager
def unchanged(env: Env, account_id: str | None = None, invoice_id: str | None = None) -> Iterator[None]:
    before = snapshot(env, account_id, invoice_id)
    yield
    assert snapshot(env, account_id, invoice_id) == before


def count_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    return {t: after["counts"][t] - n for t, n in before["counts"].items() if after["counts"][t] != n}


def account_on(env: Env, state: str) -> dict[str, Any]:
    """An account on Free (with or without billing info) or on a paid plan."""
    if state == "free_no_billing":
        return env.account(billing=False)
    acc = env.account()
    if state != "free":
        env.buy(acc["id"], state)
    return acc


def unpaid_invoice(env: Env) -> tuple[dict[str, Any], dict[str, Any]]:
    """An account on Free with an unpaid Growth purchase invoice (a virtual account is open)."""
    acc = env.account()
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "growth", "payment_method": "bank_transfer"}))
    return acc, res["invoice"]


def invoice_in(env: Env, state: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if state == "paid":
        acc = env.account()
        return acc, env.buy(acc["id"], "growth")
    acc, invoice = unpaid_invoice(env)
    if state == "expired":
        env.advance(days=4)
        invoice = env.ok(env.get(f"/v1/invoices/{invoice['id']}"))
        assert invoice["status"] == "expired"
    return acc, invoice


# -- accounts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "status", "code", "param"), [
    ({"currency": "USD"}, 422, "unsupported_currency", "currency"),
    ({"email": "not-an-email"}, 422, "invalid_email", "email"),
    ({"timezone": "Mars/Olympus_Mons"}, 422, "invalid_timezone", "timezone"),
    ({"locale": "fr"}, 422, "invalid_locale", "locale"),
    ({"name": "   "}, 422, "invalid_name", "name"),
    ({"email": None}, 422, "invalid_parameter", "email"),
    ({"start_trial": "yes"}, 422, "invalid_parameter", "start_trial"),
    ({"plan": "pro"}, 422, "unknown_parameter", "plan"),
], ids=lambda v: str(v) if not isinstance(v, dict) else ",".join(v))
def test_bad_account_fields(env: Env, fields: dict[str, Any], status: int, code: str, param: str) -> None:
    body = {"name": "Toko Maju", "email": "owner@example.id", **fields}
    with unchanged(env):
        assert_error(env.post("/v1/accounts", body), status, code, param)


def test_missing_required_field(env: Env) -> None:
    with unchanged(env):
        assert_error(env.post("/v1/accounts", {"name": "Toko Maju"}), 422, "missing_parameter", "email")


@pytest.mark.parametrize("content", [b'{"name": "Toko Maju",', b"name=Toko", b'{"name": "x" "email": 1}'])
def test_malformed_json(env: Env, content: bytes) -> None:
    headers = {**env.headers, "Content-Type": "application/json"}
    with unchanged(env):
        assert_error(env.client.post("/v1/accounts", content=content, headers=headers), 400, "invalid_json", None)


@pytest.mark.parametrize(("field", "value", "code"), [
    ("users", -1, "invalid_parameter"), ("users", 1.5, "invalid_parameter"), ("users", "3", "invalid_parameter"),
    ("contacts", -10, "invalid_parameter"), ("seats", 3, "unknown_parameter"),
])
def test_bad_usage_counts(env: Env, field: str, value: Any, code: str) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {field: value}), 422, code, field)
    assert env.ok(env.get(f"/v1/accounts/{acc['id']}"))["usage_counts"] == {"users": 0, "contacts": 0}


# -- subscription changes -----------------------------------------------------------------------

@pytest.mark.parametrize(("state", "action", "body", "status", "code", "param"), [
    ("free", "change", {"plan": "platinum"}, 404, "plan_not_found", "plan"),
    ("free", "preview", {"plan": "platinum"}, 404, "plan_not_found", "plan"),
    ("free", "change", {"plan": "free"}, 409, "same_plan", "plan"),
    ("growth", "change", {"plan": "growth"}, 409, "same_plan", "plan"),
    ("free_no_billing", "change", {"plan": "growth"}, 409, "billing_info_required", ANY),
    ("free", "renew", {}, 409, "nothing_to_renew", ANY),
    ("free", "cancel", {}, 409, "already_free", ANY),
    ("free", "change", {"plan": "growth", "interval": "week"}, 422, "invalid_interval", "interval"),
    ("free", "change", {"plan": "growth", "payment_method": "cash"}, 422, "invalid_payment_method",
     "payment_method"),
    ("free", "change", {"plan": "growth", "payment_method": "card"}, 422, "payment_method_required",
     "payment_method_id"),
    ("free", "change", {"plan": "growth", "payment_method": "card", "payment_method_id": "pm_nope"}, 404,
     "payment_method_not_found", "payment_method_id"),
    ("free", "change", {"interval": "month"}, 422, "missing_parameter", "plan"),
    ("free", "change", {"plan": "growth", "coupon": "HEMAT"}, 422, "unknown_parameter", "coupon"),
    ("growth", "cancel", {"at_period_end": "yes"}, 422, "invalid_parameter", "at_period_end"),
])
def test_bad_subscription_request(env: Env, state: str, action: str, body: dict[str, Any], status: int,
                                  code: str, param: Any) -> None:
    acc = account_on(env, state)
    with unchanged(env, acc["id"]):
        assert_error(env.post(f"/v1/accounts/{acc['id']}/subscription/{action}", body), status, code, param)


def test_downgrade_below_usage_names_the_exceeded_limit(env: Env) -> None:
    acc = account_on(env, "pro")
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 20}))
    preview = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/preview", {"plan": "growth"}))
    assert preview["blocked_by"] == ["users"]
    with unchanged(env, acc["id"]):
        err = assert_error(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}),
                           409, "limit_exceeded", "plan")
    assert err["limits"] == ["users"]
    assert "users" in err["message"]
    assert env.subscription(acc["id"])["pending_change"] is None


# -- invoices and payments ------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "action", "body", "status", "code", "param"), [
    ("paid", "pay", {"payment_method": "bank_transfer"}, 409, "invoice_not_payable", ANY),
    ("expired", "pay", {"payment_method": "bank_transfer"}, 409, "invoice_not_payable", ANY),
    ("paid", "cancel", None, 409, "invoice_not_open", ANY),
    ("expired", "cancel", None, 409, "invoice_not_open", ANY),
    ("paid", "mark-paid", {"reference": "BCA 0001"}, 409, "invoice_not_payable", ANY),
    ("unpaid", "pay", {"payment_method": "card"}, 422, "payment_method_required", "payment_method_id"),
    ("unpaid", "pay", {"payment_method": "card", "payment_method_id": "pm_nope"}, 404, "payment_method_not_found",
     "payment_method_id"),
    ("unpaid", "pay", {"payment_method": "bank_transfer", "bank": "hsbc"}, 422, "invalid_bank", "bank"),
    ("unpaid", "pay", {"payment_method": "cheque"}, 422, "invalid_payment_method", "payment_method"),
    ("unpaid", "pay", {}, 422, "missing_parameter", "payment_method"),
    ("unpaid", "mark-paid", {}, 422, "missing_parameter", "reference"),
    ("unpaid", "mark-paid", {"reference": ""}, 422, "invalid_parameter", "reference"),
])
def test_bad_invoice_request(env: Env, state: str, action: str, body: dict[str, Any] | None, status: int,
                             code: str, param: Any) -> None:
    acc, invoice = invoice_in(env, state)
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.post(f"/v1/invoices/{invoice['id']}/{action}", body), status, code, param)


def test_payment_method_of_another_account(env: Env) -> None:
    other = env.account()
    stranger_card = env.card(other["id"])
    acc, invoice = unpaid_invoice(env)
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.post(f"/v1/invoices/{invoice['id']}/pay",
                              {"payment_method": "card", "payment_method_id": stranger_card}),
                     404, "payment_method_not_found", "payment_method_id")


@pytest.mark.parametrize(("number", "code"), [("4000000000000002", "card_declined"),
                                               ("4000000000009995", "insufficient_funds")])
def test_declined_card_records_one_failed_payment_and_nothing_else(env: Env, number: str, code: str) -> None:
    acc, invoice = unpaid_invoice(env)
    card = env.card(acc["id"], number)
    events_before = len(env.event_types(acc["id"]))
    before = snapshot(env, acc["id"], invoice["id"])
    res = env.post(f"/v1/invoices/{invoice['id']}/pay", {"payment_method": "card", "payment_method_id": card})
    err = assert_error(res, 402, code, "payment_method_id")
    assert err["invoice_id"] == invoice["id"]
    after = snapshot(env, acc["id"], invoice["id"])
    # The attempt is recorded (its payment row, the payment.created/payment.failed events and the API call's audit
    # entry), no more.
    assert count_changes(before, after) == {"payments": 1, "events": 2, "audit_entries": 1}
    assert env.event_types(acc["id"])[events_before:] == ["payment.created", "payment.failed"]
    assert after["subscription"] == before["subscription"]
    assert after["invoice"]["status"] == "unpaid"
    assert after["invoice"]["paid_at"] is None
    assert after["invoice"]["payment"]["id"] == err["payment_id"]
    assert after["invoice"]["payment"]["status"] == "failed"
    assert after["invoice"]["payment"]["failure_code"] == code
    assert {k: v for k, v in after["invoice"].items() if k != "payment"} == \
        {k: v for k, v in before["invoice"].items() if k != "payment"}


# -- sandbox inputs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", [-5, 0, 12.5, "100", None])
def test_bank_transfer_amount_must_be_a_positive_integer(env: Env, amount: Any) -> None:
    acc, invoice = unpaid_invoice(env)
    body = {"va_number": invoice["payment"]["va_number"], "amount": amount}
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.post("/v1/sandbox/bank-transfers", body), 422, "invalid_parameter", "amount")


@pytest.mark.parametrize(("body", "code", "param"), [
    ({"days": -1}, "invalid_parameter", "days"),
    ({"days": 1.5}, "invalid_parameter", "days"),
    ({}, "missing_parameter", ANY),
    ({"to": "2026-02-01T00:00:00"}, "invalid_parameter", "to"),
    ({"weeks": 1}, "unknown_parameter", "weeks"),
    ({"days": 3661}, "invalid_parameter", "days"),
    ({"hours": 87841}, "invalid_parameter", "hours"),
    ({"days": 3660, "hours": 1}, "invalid_parameter", "days"),  # over 10 years together: names what was given
    ({"hours": 87840, "days": 1}, "invalid_parameter", "days"),
])
def test_bad_clock_advance(env: Env, body: dict[str, Any], code: str, param: Any) -> None:
    with unchanged(env):
        assert_error(env.post("/v1/sandbox/clock/advance", body), 422, code, param)
    assert env.now() == CLOCK_START


def test_clock_never_moves_backwards(env: Env) -> None:
    acc = account_on(env, "growth")
    with unchanged(env, acc["id"]):
        assert_error(env.post("/v1/sandbox/clock/advance", {"to": "2026-01-14T03:00:00+00:00"}),
                     409, "clock_backwards", "to")
    assert env.now() == CLOCK_START


# -- unknown ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "code"), [
    ("GET", "/v1/accounts/acc_nope", None, "account_not_found"),
    ("PUT", "/v1/accounts/acc_nope/usage-counts", {"users": 1}, "account_not_found"),
    ("POST", "/v1/accounts/acc_nope/subscription/change", {"plan": "growth"}, "account_not_found"),
    ("POST", "/v1/accounts/acc_nope/subscription/cancel", {}, "account_not_found"),
    ("POST", "/v1/accounts/acc_nope/payment-methods", {"provider_token": "tok_x"}, "account_not_found"),
    ("GET", "/v1/invoices/inv_nope", None, "invoice_not_found"),
    ("GET", "/v1/invoices/inv_nope/pdf", None, "invoice_not_found"),
    ("POST", "/v1/invoices/inv_nope/pay", {"payment_method": "bank_transfer"}, "invoice_not_found"),
    ("POST", "/v1/invoices/inv_nope/cancel", None, "invoice_not_found"),
    ("POST", "/v1/invoices/inv_nope/mark-paid", {"reference": "x"}, "invoice_not_found"),
])
def test_unknown_ids(env: Env, method: str, path: str, body: Any, code: str) -> None:
    env.account()
    with unchanged(env):
        assert_error(env.client.request(method, path, json=body, headers=env.headers), 404, code)


# -- auth ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_api_key"),
    ({"Authorization": "Bearer "}, "missing_api_key"),
    ({"Authorization": "Basic bGduOnRlc3Q="}, "missing_api_key"),
    ({"Authorization": "Bearer lgn_wrong_key"}, "invalid_api_key"),
])
@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/accounts"), ("GET", "/v1/accounts"),
                                              ("GET", "/v1/plans")])
def test_missing_or_wrong_api_key(env: Env, headers: dict[str, str], code: str, method: str, path: str) -> None:
    body = {"name": "Toko Maju", "email": "owner@example.id"} if method == "POST" else None
    with unchanged(env):
        assert_error(env.client.request(method, path, json=body, headers=headers), 401, code, None)


def integration_key(env: Env) -> dict[str, str]:
    with env.db.transaction() as s:
        _, token = apikeys.create(s, role="integration", name="t", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def test_integration_key_may_not_mark_paid(env: Env) -> None:
    acc, invoice = unpaid_invoice(env)
    headers = integration_key(env)
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.post(f"/v1/invoices/{invoice['id']}/mark-paid", {"reference": "BCA 1"}, headers=headers),
                     403, "forbidden", None)
    # The same key may do what integrations do.
    env.ok(env.get(f"/v1/invoices/{invoice['id']}", headers=headers))


# -- gateway notifications ------------------------------------------------------------------------------

def _forged(va_number: str, amount: int, **headers: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event_id": "sbxevt_forged", "type": "va.paid", "va_number": va_number, "amount": amount,
                       "currency": "IDR", "transaction_id": "trx_forged"}).encode()
    return body, {"Content-Type": "application/json", **headers}


@pytest.mark.parametrize("kind", ["bad_signature", "unsigned", "stale", "no_timestamp"])
def test_forged_gateway_notification_is_rejected(env: Env, kind: str) -> None:
    acc, invoice = unpaid_invoice(env)
    now = str(int(datetime.now(UTC).timestamp()))
    headers = {"bad_signature": {"X-Sandbox-Timestamp": now, "X-Sandbox-Signature": "0" * 64},
               "unsigned": {},
               "stale": {"X-Sandbox-Timestamp": str(int(now) - 3600), "X-Sandbox-Signature": "0" * 64},
               "no_timestamp": {"X-Sandbox-Signature": "0" * 64}}[kind]
    body, headers = _forged(invoice["payment"]["va_number"], invoice["total"], **headers)
    with unchanged(env, acc["id"], invoice["id"]):
        res = env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
        assert_error(res, 401, "invalid_signature")
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["payment"]["status"] == "pending"


def test_notification_for_unknown_gateway(env: Env) -> None:
    body, headers = _forged("3935800000000000", 1000)
    with unchanged(env):
        assert_error(env.client.post("/v1/gateways/midtrans/notifications", content=body, headers=headers),
                     404, "gateway_not_found")


# -- the snapshot itself notices a change ----------------------------------------------------------------

def test_snapshot_sees_a_change(env: Env) -> None:
    acc = env.account()
    before = snapshot(env, acc["id"])
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 1}))
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))
    after = snapshot(env, acc["id"])
    assert count_changes(before, after).keys() >= {"invoices", "invoice_lines", "payments", "events"}


# -- bad input at the edges of what can be stored ------------------------------------------

@pytest.mark.parametrize("users", [2**31, 10**20])
def test_usage_count_beyond_storable_range(env: Env, users: int) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": users}), 422,
                     "invalid_parameter", "users")


def test_bank_transfer_amount_beyond_storable_range(env: Env) -> None:
    acc, invoice = unpaid_invoice(env)
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.post("/v1/sandbox/bank-transfers", {"va_number": invoice["payment"]["va_number"],
                                                             "amount": 10**20}), 422, "invalid_parameter", "amount")


def test_nul_character_in_text_field(env: Env) -> None:
    with unchanged(env):
        assert_error(env.post("/v1/accounts", {"name": "Toko\x00Maju", "email": "owner@example.id"}), 400,
                     "invalid_characters")


def test_nul_character_in_an_id_or_query_is_refused(env: Env) -> None:
    with unchanged(env):
        assert_error(env.get("/v1/accounts/acc%00"), 400, "invalid_characters")
        assert_error(env.get("/v1/accounts?starting_after=%00"), 400, "invalid_characters")


def test_clock_advance_beyond_supported_range(env: Env) -> None:
    with unchanged(env):
        assert_error(env.post("/v1/sandbox/clock/advance", {"to": "9999-12-31T00:00:00+00:00"}), 422,
                     "invalid_parameter", "to")
    assert env.now() == CLOCK_START


def test_nul_character_in_a_form_body_is_refused(env: Env) -> None:
    with unchanged(env):
        res = env.client.post("/console/login", content=b"email=a%00b%40example.id&password=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_error(res, 400, "invalid_characters")


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"])
def test_usage_occurred_at_without_a_utc_instant(env: Env, occurred_at: str) -> None:
    acc = env.account()
    event = {"id": "far", "account_id": acc["id"], "meter": "conversation_reply", "occurred_at": occurred_at}
    with unchanged(env, acc["id"]):
        assert_error(env.post("/v1/usage", event), 422, "invalid_parameter", "occurred_at")
        assert_error(env.post("/v1/usage/batch", {"events": [event]}), 422, "invalid_parameter",
                     "events.0.occurred_at")


@pytest.mark.parametrize(("query", "param"), [("since=2026-01-01T00:00:00", "since"),
                                              ("until=2026-01-01T00:00:00", "until"),
                                              ("starting_after=" + "9" * 30, "starting_after"),
                                              ("starting_after=%C2%B2", "starting_after")])
def test_bad_wallet_history_query(env: Env, query: str, param: str) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/transactions?{query}"), 422,
                     "invalid_parameter", param)


@pytest.mark.parametrize("seconds", [0, 604_801, 10**20])
def test_reservation_hold_length_out_of_range(env: Env, seconds: int) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "conversation_reply",
                                                   "quantity": 1, "expires_in_seconds": seconds}), 422,
                     "invalid_parameter", "expires_in_seconds")
