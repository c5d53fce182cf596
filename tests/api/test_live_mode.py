"""Live mode cannot be paid with forged money (issue 11): the sandbox gateway, its test cards, its
notification route and every /v1/sandbox/* route do not exist there, and the sandbox gateway's secret
has no default anyone could know. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from langganan.app import SANDBOX_SECRET, create_app, make_context
from langganan.config import PUBLISHED_SANDBOX_SECRET
from langganan.console import service as staff
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.models import GeneratedSecret
from langganan.payments.models import PaymentMethod
from langganan.payments.sandbox import SandboxGateway
from langganan.sandbox.endpoints import router as sandbox_router
from tests.api.test_portal_security import _console_login
from tests.conftest import ADMIN_KEY, Env, make_settings
from tests.live_support import live_env

# Anyone could sign with the secret older versions printed in config.py and .env.example.
FORGER = SandboxGateway(PUBLISHED_SANDBOX_SECRET)
SANDBOX_ROUTES = [(method, route.path) for route in sandbox_router.routes if isinstance(route, APIRoute)
                  for method in sorted(route.methods)]


@pytest.fixture
def live(database: Database) -> Iterator[Env]:
    with live_env(database) as env:
        yield env


def test_a_callback_signed_with_the_old_default_secret_pays_nothing_in_live_mode(live: Env) -> None:
    acc = live.account()
    res = live.ok(live.post(f"/v1/accounts/{acc['id']}/subscription/change",
                            {"plan": "pro", "interval": "year", "payment_method": "bank_transfer"}))
    invoice = res["invoice"]
    assert (invoice["status"], invoice["total"]) == ("unpaid", 9_990_000)
    headers, body = FORGER.signed_transfer(invoice["payment"]["va_number"], invoice["total"], "IDR",
                                           wall_now=wall_now())
    forged = live.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
    assert forged.status_code == 404, forged.text
    assert forged.json()["error"]["code"] == "gateway_not_found"
    # the configured gateway's own route checks its own signature, which the forger does not have
    refused = live.client.post("/v1/gateways/refusing/notifications", content=body, headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_signature"
    # and the simulated bank is not there to pay it either
    paid = live.post("/v1/sandbox/bank-transfers", {"va_number": invoice["payment"]["va_number"],
                                                    "amount": invoice["total"]})
    assert paid.status_code == 404
    assert live.ok(live.get(f"/v1/invoices/{invoice['id']}"))["status"] == "unpaid"
    assert live.subscription(acc["id"])["plan"] == "free"
    assert "invoice.paid" not in live.event_types(acc["id"])


def test_no_sandbox_route_exists_in_live_mode(live: Env, database: Database) -> None:
    assert len(SANDBOX_ROUTES) >= 4  # cards, bank transfers, the clock and its advance
    for method, path in SANDBOX_ROUTES:
        res = live.client.request(method, path, json={}, headers=live.headers)
        assert res.status_code == 404, (method, path, res.text)
        assert res.json()["error"]["code"] == "not_found"
    spec = live.ok(live.get("/openapi.json"))
    assert [p for p in spec["paths"] if "sandbox" in p] == []
    assert "sandbox" not in {tag for ops in spec["paths"].values() for op in ops.values() for tag in op["tags"]}
    # the same app in sandbox mode has them all, so the list above is not empty by accident
    sandbox = TestClient(create_app(make_settings(database), database)).get("/openapi.json").json()["paths"]
    assert all(method.lower() in sandbox.get(path, {}) for method, path in SANDBOX_ROUTES)


def test_a_sandbox_card_token_signed_with_the_old_default_is_refused_when_saved(live: Env) -> None:
    acc = live.account()
    token = FORGER.tokenize("4242424242424242", 12, 2030, "123", now=wall_now())
    res = live.post(f"/v1/accounts/{acc['id']}/payment-methods", {"provider_token": token})
    assert res.status_code == 400 and res.json()["error"]["code"] == "invalid_card_token"
    with live.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PaymentMethod)) == 0
    assert live.post("/v1/sandbox/cards", {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030,
                                           "cvc": "123"}).status_code == 404


def test_the_console_has_no_sandbox_clock_in_live_mode(live: Env) -> None:
    with live.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    client = TestClient(live.client.app)
    assert _console_login(live, client, "ops@example.id", "correct horse battery").status_code == 303
    home = client.get("/console")
    assert home.status_code == 200 and 'href="/console/clock"' not in home.text
    assert client.get("/console/clock").status_code == 404
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    assert client.post("/console/clock", data={"days": "31", "csrf_token": csrf.group(1)}).status_code == 404


def test_live_mode_refuses_the_sandbox_gateway_even_when_handed_one(database: Database) -> None:
    from langganan.config import ConfigError

    settings = make_settings(database, mode="live")
    with pytest.raises(ConfigError, match="LANGGANAN_GATEWAY"):
        create_app(settings, database)
    with pytest.raises(ConfigError, match="LANGGANAN_GATEWAY"):
        create_app(settings, database, gateway=SandboxGateway("whatever"))


def test_without_a_configured_secret_the_sandbox_signs_with_one_generated_and_kept_in_the_database(
        database: Database) -> None:
    """Sandbox mode with no LANGGANAN_SANDBOX_GATEWAY_SECRET: the demo and the tests work; the secret is
    random, stored once, and shared by every process on the database (`serve` tokenizes a card that
    `langganan worker` charges); the old default signs nothing."""
    settings = make_settings(database, sandbox_gateway_secret=None)
    from langganan.app import prepare

    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        env = Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        acc = env.account()
        card = env.card(acc["id"])
        invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                                  {"plan": "growth", "payment_method": "card", "payment_method_id": card}))["invoice"]
        assert invoice["status"] == "paid"
        bank = env.account()
        unpaid = env.ok(env.post(f"/v1/accounts/{bank['id']}/subscription/change", {"plan": "pro"}))["invoice"]
        headers, body = FORGER.signed_transfer(unpaid["payment"]["va_number"], unpaid["total"], "IDR",
                                               wall_now=wall_now())
        forged = client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
        forged_card = FORGER.tokenize("4242424242424242", 12, 2030, "123", now=wall_now())
        assert env.post(f"/v1/accounts/{bank['id']}/payment-methods",
                        {"provider_token": forged_card}).status_code == 400
        assert env.pay_va(unpaid)["outcome"] == "applied"  # the simulated bank signs with the real one
    with database.transaction() as s:
        secrets = s.scalars(select(GeneratedSecret.value).where(GeneratedSecret.name == SANDBOX_SECRET)).all()
    assert len(secrets) == 1 and len(secrets[0]) >= 32 and secrets[0] != PUBLISHED_SANDBOX_SECRET
    serve, worker = make_context(settings, database), make_context(settings, database)  # two processes' view
    serve.courier.close()
    worker.courier.close()
    assert isinstance(serve.gateway, SandboxGateway) and isinstance(worker.gateway, SandboxGateway)
    token = serve.gateway.tokenize("4242424242424242", 12, 2030, "123", now=wall_now())
    assert worker.gateway.charge(token=token, amount=1000, currency="IDR", idempotency_key="k",
                                 description="renewal").succeeded

