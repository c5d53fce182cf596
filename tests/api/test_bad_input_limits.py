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

from langganan.payments.sandbox import SandboxGateway
from tests.api.test_bad_input import ANY, assert_error, unchanged, unpaid_invoice
from tests.conftest import Env

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
