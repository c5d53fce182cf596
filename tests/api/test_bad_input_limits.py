"""Input at the edges of what can be stored or parsed gets a 4xx in the API error shape and changes
nothing (issue 11): values SQLite would take and PostgreSQL refuses (a string longer than its column,
an integer beyond its column), times with no UTC instant, headers that are not what they claim. Each
case ran into a 500 on PostgreSQL before it was refused here; every test runs on both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from langganan.console import service as staff
from langganan.console.models import StaffUser
from langganan.kit.clock import wall_now
from langganan.kit.errors import DomainError
from langganan.payments.sandbox import SandboxGateway
from tests.api.test_bad_input import ANY, assert_error, unchanged, unpaid_invoice
from tests.api.test_portal_security import CSRF_RE, _console_login
from tests.conftest import BILLING, Env

NOTIFY = "/v1/gateways/sandbox/notifications"


def signed(env: Env, body: dict[str, Any] | bytes, **headers: str) -> tuple[bytes, dict[str, str]]:
    """A callback body signed with the sandbox gateway's secret, as the gateway sends it."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sig = SandboxGateway(env.settings.sandbox_gateway_secret).sign(raw, wall_now=datetime.now(UTC))
    return raw, {"Content-Type": "application/json", **sig, **headers}


def raw_post(env: Env, path: str, body: bytes, headers: dict[str, bytes]) -> httpx.Response:
    """A request whose header bytes reach the app as sent: the test client re-encodes header values as
    UTF-8, a real client (and this one) sends bytes, which the server decodes as Latin-1."""
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=env.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(path, content=body, headers=headers)

    return asyncio.run(send())


def callback(va_number: str, amount: Any, **fields: Any) -> dict[str, Any]:
    return {"event_id": "sbxevt_edge", "type": "va.paid", "va_number": va_number, "amount": amount,
            "currency": "IDR", "transaction_id": "trx_edge", **fields}


# -- the cases of the issue ------------------------------------------------------------------------------

@pytest.mark.parametrize("currency", ["IDRX", "ID", "", "rupiah", 360, None])
def test_bank_transfer_currency_must_be_three_letters(env: Env, currency: Any) -> None:
    acc, invoice = unpaid_invoice(env)
    body = {"va_number": invoice["payment"]["va_number"], "amount": invoice["total"], "currency": currency}
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.post("/v1/sandbox/bank-transfers", body), 422, "invalid_parameter", "currency")


@pytest.mark.parametrize("currency", ["IDRX", "ID", "", "idr1", 360, None])
def test_signed_callback_with_a_bad_currency_is_refused(env: Env, currency: Any) -> None:
    acc, invoice = unpaid_invoice(env)
    body, headers = signed(env, callback(invoice["payment"]["va_number"], invoice["total"], currency=currency))
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.client.post(NOTIFY, content=body, headers=headers), 422, "invalid_notification",
                     "currency")


# Header bytes reach the app decoded as Latin-1, where b"\xb2" is "²": str.isdigit() is true for it, int() fails.
@pytest.mark.parametrize("timestamp", [b"\xb2", b"\xb9\xb2\xb3", "١٢٣".encode(), b"9" * 5000, b"-1", b"1e9", b"0x10"])
def test_signature_timestamp_of_other_digits_is_not_signed(env: Env, timestamp: bytes) -> None:
    acc, invoice = unpaid_invoice(env)
    body, headers = signed(env, callback(invoice["payment"]["va_number"], invoice["total"]))
    raw = {**{k: v.encode() for k, v in headers.items()}, "x-sandbox-timestamp": timestamp}
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(raw_post(env, NOTIFY, body, raw), 401, "invalid_signature", None)


@pytest.mark.parametrize(("query", "param"), [("since=0001-01-01T00:00:00%2B14:00", "since"),
                                              ("until=9999-12-31T23:59:59-14:00", "until"),
                                              ("since=0001-01-01T00:00:00Z", "since"),
                                              ("until=9999-12-31T23:59:59Z", "until")])
def test_wallet_history_time_without_a_storable_utc_instant(env: Env, query: str, param: str) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/transactions?{query}"), 422,
                     "invalid_parameter", param)


def test_wallet_history_at_the_edges_of_the_range(env: Env) -> None:
    acc = env.account()
    path = f"/v1/accounts/{acc['id']}/wallets/conversation/transactions"
    env.ok(env.get(path + "?since=0001-01-02T00:00:00Z&until=9999-12-30T23:59:59Z"))
    assert ANY is not None


# -- gateway callbacks: a signed body is still checked field by field --------------------------------

@pytest.mark.parametrize(("fields", "param"), [
    ({"amount": 12.5}, "amount"), ({"amount": "100"}, "amount"), ({"amount": True}, "amount"),
    ({"amount": -5}, "amount"), ({"amount": 0}, "amount"), ({"amount": 2**63}, "amount"), ({"amount": None}, "amount"),
    ({"event_id": 123}, "event_id"), ({"event_id": ""}, "event_id"), ({"event_id": "e" * 201}, "event_id"),
    ({"event_id": {"a": 1}}, "event_id"), ({"va_number": 3935800000000000}, "va_number"),
    ({"va_number": "9" * 41}, "va_number"), ({"transaction_id": ["x"]}, "transaction_id"),
    ({"transaction_id": "t" * 201}, "transaction_id"),
], ids=lambda v: str(v)[:40])
def test_signed_callback_with_a_bad_field_is_refused(env: Env, fields: dict[str, Any], param: str) -> None:
    acc, invoice = unpaid_invoice(env)
    body, headers = signed(env, {**callback(invoice["payment"]["va_number"], invoice["total"]), **fields})
    with unchanged(env, acc["id"], invoice["id"]):
        assert_error(env.client.post(NOTIFY, content=body, headers=headers), 422, "invalid_notification", param)


@pytest.mark.parametrize("body", [b"nope", b"[]", b'"va.paid"', b"\xff\xfe", b""])
def test_signed_callback_that_is_no_object_is_refused(env: Env, body: bytes) -> None:
    raw, headers = signed(env, body)
    with unchanged(env):
        assert_error(env.client.post(NOTIFY, content=raw, headers=headers), 422, "invalid_notification")


@pytest.mark.parametrize("signature", [b"\xe9" * 64, b"\xc3\xa9", "é".encode() * 32, b"A" * 64])
def test_signature_that_is_not_lowercase_hex_is_refused(env: Env, signature: bytes) -> None:
    body, headers = signed(env, callback("3935800000000000", 1000))
    raw = {**{k: v.encode() for k, v in headers.items()}, "x-sandbox-signature": signature}
    with unchanged(env):
        assert_error(raw_post(env, NOTIFY, body, raw), 401, "invalid_signature", None)


def test_card_token_with_a_non_ascii_signature_is_refused(env: Env) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.post(f"/v1/accounts/{acc['id']}/payment-methods", {"provider_token": "tok_sandbox_e30.é"}),
                     400, "invalid_card_token", "provider_token")


@pytest.mark.parametrize("exp_year", [2**31, 10**20, 2100])
def test_card_expiry_year_beyond_any_card(env: Env, exp_year: int) -> None:
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": exp_year, "cvc": "123"}
    with unchanged(env):
        assert_error(env.post("/v1/sandbox/cards", card), 422, "invalid_expiry_year", "exp_year")


# -- headers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [b"k" * 256, b"\xff\xfe", b"caf\xc3\xa9", b"tab\tkey", b"del\x7f"])
def test_idempotency_key_that_cannot_be_stored_is_refused(env: Env, key: bytes) -> None:
    body = json.dumps({"name": "Toko Maju", "email": "owner@example.id"}).encode()
    headers = {"Authorization": f"Bearer {env.settings.bootstrap_api_key}".encode(),
               "Content-Type": b"application/json", "Idempotency-Key": key}
    with unchanged(env):
        assert_error(raw_post(env, "/v1/accounts", body, headers), 400, "invalid_idempotency_key", "Idempotency-Key")


def test_idempotency_key_of_255_characters_is_kept(env: Env) -> None:
    headers = {**env.headers, "Idempotency-Key": "k" * 255}
    body = {"name": "Toko Maju", "email": "owner@example.id"}
    first = env.ok(env.post("/v1/accounts", body, headers=headers), 201)
    again = env.post("/v1/accounts", body, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize(("authorization", "code"), [(b"Bearer \xff\xfe", "invalid_api_key"),
                                                   (b"Bearer " + b"k" * 5000, "invalid_api_key"),
                                                   (b"\xe9\xe9", "missing_api_key")],
                         ids=["latin-1", "long", "no bearer"])
def test_authorization_header_of_any_bytes_is_a_401(env: Env, authorization: bytes, code: str) -> None:
    res = raw_post(env, "/v1/accounts", b"{}", {"Authorization": authorization, "Content-Type": b"application/json"})
    assert_error(res, 401, code, None)


# -- times: one range for every API time ----------------------------------------------------------------

@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00Z", "9999-12-31T12:00:00Z", "0001-01-01T09:00:00-14:00"])
def test_usage_occurred_at_outside_the_storable_range(env: Env, occurred_at: str) -> None:
    acc = env.account()
    event = {"id": "edge", "account_id": acc["id"], "meter": "conversation_reply", "occurred_at": occurred_at}
    with unchanged(env, acc["id"]):
        assert_error(env.post("/v1/usage", event), 422, "invalid_parameter", "occurred_at")


@pytest.mark.parametrize("ends_at", ["9999-12-31T23:59:59-14:00", "9999-12-31T12:00:00Z"])
def test_promotion_end_outside_the_storable_range(env: Env, ends_at: str) -> None:
    body = {"code": "FAR", "percent_off": 10, "plans": ["growth"], "ends_at": ends_at}
    with unchanged(env):
        assert_error(env.post("/v1/promotions", body), 422, "invalid_parameter", "ends_at")


# -- strings longer than their column, names that are not what they seem ------------------------------------

@pytest.mark.parametrize(("fields", "code", "param"), [
    ({"timezone": "Asia"}, "invalid_timezone", "timezone"),  # a directory of the zone database
    ({"timezone": "zone.tab"}, "invalid_timezone", "timezone"),  # a data file of it
    ({"timezone": "x" * 64}, "invalid_timezone", "timezone"),
    ({"timezone": "x" * 65}, "invalid_parameter", "timezone"),
    ({"locale": "english"}, "invalid_parameter", "locale"),
    ({"external_id": "x" * 201}, "invalid_parameter", "external_id"),
])
def test_account_fields_beyond_their_columns(env: Env, fields: dict[str, Any], code: str, param: str) -> None:
    with unchanged(env):
        assert_error(env.post("/v1/accounts", {"name": "Toko Maju", "email": "owner@example.id", **fields}), 422,
                     code, param)


LONG_WHEN_LOWER = "İ" * 300 + "@example.id"  # 311 characters; "İ".lower() is two, so 611 once normalised


def test_email_that_outgrows_its_column_when_normalised(env: Env) -> None:
    acc = env.account(billing=False)
    with unchanged(env, acc["id"]):
        assert_error(env.post("/v1/accounts", {"name": "Toko", "email": LONG_WHEN_LOWER}), 422, "invalid_email",
                     "email")
        assert_error(env.put(f"/v1/accounts/{acc['id']}/billing-info", {**BILLING, "email": LONG_WHEN_LOWER}), 422,
                     "invalid_email", "email")
    csv = ("account_key,name,email,plan,enrolled_on,last_unpaid_month\n"
           f"L-1,Toko Satu,{LONG_WHEN_LOWER},growth,2025-03-10,2025-12\n")
    res = env.ok(env.client.post("/v1/legacy-imports", content=csv.encode(),
                                 headers={**env.headers, "Content-Type": "text/csv"}))
    assert [(r["status"], r["code"]) for r in res["results"]] == [("failed", "invalid_email")]


@pytest.mark.parametrize(("email", "name", "code"), [(LONG_WHEN_LOWER, "Ops", "invalid_email"),
                                                    ("ops@example.id", "n" * 201, "invalid_name")])
def test_staff_fields_beyond_their_columns(env: Env, email: str, name: str, code: str) -> None:
    """`langganan staff create` (the CLI prints the message and exits 2)."""
    with pytest.raises(DomainError) as refused, env.db.transaction() as s:
        staff.create_staff(s, email, name, "correct horse battery", wall_now())
    assert refused.value.code == code
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_legacy_row_with_a_zone_directory_fails_that_row_only(env: Env) -> None:
    csv = ("account_key,name,email,plan,enrolled_on,last_unpaid_month,timezone\n"
           "L-1,Toko Satu,satu@example.id,growth,2025-03-10,2025-12,Asia\n"
           "L-2,Toko Dua,dua@example.id,growth,2025-03-10,2025-12,Asia/Jakarta\n")
    res = env.ok(env.client.post("/v1/legacy-imports", content=csv.encode(),
                                 headers={**env.headers, "Content-Type": "text/csv"}))
    assert [(r["status"], r["code"], r["param"]) for r in res["results"]] == [
        ("failed", "invalid_timezone", "timezone"), ("imported", None, None)]


@pytest.mark.parametrize(("method", "path", "body", "code"), [
    ("GET", "/v1/accounts/{long}", None, "account_not_found"),
    ("POST", "/v1/invoices/{long}/pay", {"payment_method": "bank_transfer"}, "invoice_not_found"),
    ("POST", "/v1/invoices/{long}/mark-paid", {"reference": "BCA 1"}, "invoice_not_found"),
    ("POST", "/v1/reservations/{long}/capture", {"quantity": 1}, "reservation_not_found"),
    ("POST", "/v1/accounts/{account}/notifications/{long}/read", None, "notification_not_found"),
    ("POST", "/v1/accounts/{account}/add-ons/{long}/stop", None, "add_on_item_not_found"),
    ("GET", "/v1/webhook-endpoints/{long}", None, "webhook_endpoint_not_found"),
    ("GET", "/v1/promotions/{long}", None, "promotion_not_found"),
    ("PUT", "/v1/accounts/{account}/wallets/{long}", {"low_balance_threshold": 0}, "wallet_not_found"),
], ids=lambda v: str(v)[:40])
def test_path_ids_longer_than_any_id_are_not_found(env: Env, method: str, path: str, body: Any, code: str) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    url = path.format(long="x" * 300, account=acc["id"])
    with unchanged(env, acc["id"]):
        assert_error(env.client.request(method, url, json=body, headers=env.headers), 404, code)


@pytest.mark.parametrize(("field", "value"), [("payment_method_id", "pm_" + "x" * 40), ("bank", "b" * 21),
                                              ("payment_method", "p" * 21), ("interval", "monthly-ish")])
def test_purchase_fields_longer_than_their_columns(env: Env, field: str, value: str) -> None:
    acc = env.account()
    with unchanged(env, acc["id"]):
        assert_error(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth", field: value}),
                     422, "invalid_parameter", field)


# -- integers: JSON floats and booleans are not whole numbers; whole numbers fit their column ----------------

@pytest.mark.parametrize(("path", "body", "param"), [
    ("/v1/accounts/{account}/top-ups", {"wallet": "conversation", "amount": 50000.0}, "amount"),
    ("/v1/accounts/{account}/top-ups", {"wallet": "conversation", "amount": True}, "amount"),
    ("/v1/accounts/{account}/top-ups", {"wallet": "conversation", "amount": 2**70}, "amount"),
    ("/v1/accounts/{account}/add-ons", {"add_on": "additional_user", "quantity": True}, "quantity"),
    ("/v1/accounts/{account}/add-ons", {"add_on": "additional_user", "quantity": 1.0}, "quantity"),
    ("/v1/accounts/{account}/entitlements/check", {"limit": "users", "quantity": 2**40}, "quantity"),
    ("/v1/accounts/{account}/entitlements/check", {"limit": "users", "quantity": 1.0}, "quantity"),
    ("/v1/accounts/{account}/subscription/extend-trial", {"days": 1.5}, "days"),
    ("/v1/accounts/{account}/subscription/extend-trial", {"days": False}, "days"),
    ("/v1/reservations", {"account_id": "{account}", "meter": "conversation_reply", "quantity": 1.0}, "quantity"),
    ("/v1/reservations", {"account_id": "{account}", "meter": "conversation_reply", "quantity": 2**63}, "quantity"),
    ("/v1/usage", {"id": "u1", "account_id": "{account}", "meter": "conversation_reply", "quantity": True},
     "quantity"),
    ("/v1/sandbox/cards", {"number": "4242424242424242", "exp_month": 12.0, "exp_year": 2030, "cvc": "123"},
     "exp_month"),
    ("/v1/promotions", {"code": "BIG", "amount_off": 10**13, "plans": ["growth"], "duration_months": 1}, "amount_off"),
    ("/v1/promotions", {"code": "BIG", "percent_off": 10, "plans": ["growth"], "max_redemptions": 2**31},
     "max_redemptions"),
], ids=lambda v: str(v)[:50])
def test_numbers_that_are_not_storable_whole_numbers(env: Env, path: str, body: dict[str, Any], param: str) -> None:
    acc = env.account()
    if "add-ons" in path:
        env.buy(acc["id"], "growth")
    body = {k: v.format(account=acc["id"]) if isinstance(v, str) else v for k, v in body.items()}
    with unchanged(env, acc["id"]):
        assert_error(env.post(path.format(account=acc["id"]), body), 422, "invalid_parameter", param)


def test_capture_quantity_beyond_a_bigint(env: Env) -> None:
    acc = env.account()
    env.top_up(acc["id"], "conversation", 50_000)
    hold = env.ok(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "conversation_reply",
                                                "quantity": 2}), 201)
    with unchanged(env, acc["id"]):
        assert_error(env.post(f"/v1/reservations/{hold['id']}/capture", {"quantity": 2**63}), 422,
                     "invalid_parameter", "quantity")


# -- bodies that cannot be read -------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"\xff\xfe\xfd", b"\x80abc", b'{"name": "\xe9"}', b"[" * 20_000 + b"]" * 20_000,
                                     b'{"name": ' + b"9" * 5000 + b"}"],
                         ids=["ff", "80", "latin-1", "deep", "5000 digits"])
def test_json_body_that_cannot_be_decoded(env: Env, content: bytes) -> None:
    """Bytes that are not UTF-8, nesting deeper than the parser goes, an integer of more digits than Python
    converts: FastAPI's own 400 ("There was an error parsing the body"), answered as invalid_json."""
    headers = {**env.headers, "Content-Type": "application/json"}
    with unchanged(env):
        assert_error(env.client.post("/v1/accounts", content=content, headers=headers), 400, "invalid_json", None)


# -- forms of the console -------------------------------------------------------------------------------------

def test_console_mark_paid_note_that_would_not_fit_with_the_staff_email(env: Env) -> None:
    """The stored note is "confirmed by <staff email>: <note>" (payments.note, 500 characters)."""
    email = "o" * 200 + "@example.id"
    with env.db.transaction() as s:
        staff.create_staff(s, email, "Ops", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, email, "correct horse battery").status_code == 303
    csrf = CSRF_RE.search(client.get("/console/invoices").text).group(1)  # type: ignore[union-attr]
    acc, invoice = unpaid_invoice(env)
    form = {"reference": "BCA 0001", "note": "n" * 400, "csrf_token": csrf}
    with unchanged(env, acc["id"], invoice["id"]):
        res = client.post(f"/console/invoices/{invoice['id']}/mark-paid", data=form, follow_redirects=False)
        assert res.status_code == 422, res.text[:300]
    res = client.post(f"/console/invoices/{invoice['id']}/mark-paid", data={**form, "note": "n" * 250},
                      follow_redirects=False)
    assert res.status_code == 303
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
