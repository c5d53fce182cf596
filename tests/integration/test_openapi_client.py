"""The OpenAPI document is a contract clients are generated from: openapi-python-client (pinned in the dev
dependencies, configured by the repository's openapi-python-client.yaml) generates a client from the
running server's /openapi.json without dropping a schema or an operation, and that client talks to the
server: a real uvicorn on a loopback port, SQLite, sandbox mode, the bootstrap admin key."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from langganan.app import create_app, prepare
from tests.conftest import ADMIN_KEY, BILLING, make_settings
from tests.served_support import serving, sqlite_copy

CONFIG = Path(__file__).resolve().parents[2] / "openapi-python-client.yaml"
PACKAGE = "langganan_client"  # package_name_override in the configuration


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    db = sqlite_copy(tmp_path, sqlite_template, "client.db")
    settings = make_settings(db)
    prepare(settings, db, migrate_if_empty=False)
    with serving(create_app(settings, db)) as url:
        yield url
    db.dispose()


@pytest.fixture
def generated(server: str, tmp_path: Path) -> Iterator[tuple[ModuleType, dict[str, Any]]]:
    """The client package generated from the server's document, imported; and the document."""
    # (the first request builds the document: seconds on a loaded machine, longer than httpx's 5 s default)
    document = httpx.get(f"{server}/openapi.json", timeout=60).raise_for_status().json()
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    out = tmp_path / "client"
    run = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
                          "--config", str(CONFIG), "--meta", "none", "--output-path", str(out / PACKAGE)],
                         capture_output=True, text=True, timeout=300)
    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    # The generator still writes a client when it cannot read a schema or an operation: it drops them and
    # says so ("Warning(s) encountered while generating ... some pieces may be missing").
    assert "warning" not in said.lower(), said
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE), document
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _operation(tag: str, operation_id: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{tag.replace('-', '_')}.{operation_id}")


def test_a_generated_client_has_every_schema_and_operation_and_calls_the_server(
        server: str, generated: tuple[ModuleType, dict[str, Any]]) -> None:
    package, document = generated
    models = importlib.import_module(f"{PACKAGE}.models")
    assert [name for name in document["components"]["schemas"] if not hasattr(models, name)] == []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            assert hasattr(_operation(op["tags"][0], op["operationId"]), "sync_detailed"), f"{method.upper()} {path}"

    # An answer whose status the document does not list raises instead of parsing to None.
    client = package.AuthenticatedClient(base_url=server, token=ADMIN_KEY, raise_on_unexpected_status=True)

    plans = _operation("catalog", "list_plans").sync(client=client)
    assert isinstance(plans, models.PlanList)
    assert [p.code for p in plans.data] == ["free", "starter", "growth", "pro"]

    account = _operation("accounts", "create_account").sync(
        client=client, body=models.AccountCreate(name="Toko Klien", email="owner@tokoklien.id"))
    assert isinstance(account, models.AccountOut)
    billed = _operation("accounts", "put_billing_info").sync(account_id=account.id, client=client,
                                                             body=models.BillingInfo(**BILLING))
    assert isinstance(billed, models.AccountOut)
    assert billed.id == account.id

    promotion = _operation("promotions", "create_promotion").sync(client=client, body=models.PromotionCreate(
        code="KLIEN20", percent_off=20, plans=["growth"], duration_months=3))
    assert isinstance(promotion, models.PromotionOut)
    redeemed = _operation("promotions", "redeem_promotion").sync(account_id=account.id, client=client,
                                                                  body=models.RedeemRequest(code="KLIEN20"))
    assert isinstance(redeemed, models.RedemptionOut)

    subscription = _operation("subscriptions", "get_subscription").sync(account_id=account.id, client=client)
    assert isinstance(subscription, models.SubscriptionOut)
    assert subscription.plan == "free"
    assert isinstance(subscription.promotion, models.SubscriptionPromotionOut)
    assert (subscription.promotion.code, subscription.promotion.percent_off) == ("KLIEN20", 20)
    assert subscription.promotion.ends_at == redeemed.ends_at

    report_usage = _operation("usage", "report_usage")
    event = models.UsageEventIn(id="evt-client-1", account_id=account.id, meter="conversation_reply")
    used = report_usage.sync_detailed(client=client, body=event)
    assert used.status_code == 201
    assert isinstance(used.parsed, models.UsageOut)
    assert (used.parsed.status, used.parsed.amount) == ("accepted", 30)
    again = report_usage.sync_detailed(client=client, body=event)
    assert again.status_code == 200
    assert isinstance(again.parsed, models.UsageOut)
    assert again.parsed.status == "duplicate"

    missing = _operation("accounts", "get_account").sync_detailed(account_id="acc_missing", client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorResponse)
    assert (missing.parsed.error.code, missing.parsed.error.param) == ("account_not_found", None)

    again_redeemed = _operation("promotions", "redeem_promotion").sync_detailed(
        account_id=account.id, client=client, body=models.RedeemRequest(code="KLIEN20"))
    assert again_redeemed.status_code == 409
    assert isinstance(again_redeemed.parsed, models.ErrorResponse)
    assert (again_redeemed.parsed.error.code, again_redeemed.parsed.error.param) == ("promotion_already_redeemed",
                                                                                      "code")

    # A declined card: 402 with the error's own fields (payment_id, invoice_id).
    token = _operation("sandbox", "create_sandbox_card").sync(client=client, body=models.CardIn(
        number="4000000000000002", exp_month=12, exp_year=2030, cvc="123"))
    assert isinstance(token, models.CardToken)
    card = _operation("payments", "add_payment_method").sync(
        account_id=account.id, client=client, body=models.PaymentMethodCreate(provider_token=token.provider_token))
    assert isinstance(card, models.PaymentMethodOut)
    declined = _operation("subscriptions", "change_plan").sync_detailed(
        account_id=account.id, client=client,
        body=models.ChangeRequest(plan="growth", payment_method="card", payment_method_id=card.id))
    assert declined.status_code == 402
    assert isinstance(declined.parsed, models.ErrorResponse)
    error = declined.parsed.error
    assert error.code == "card_declined"
    assert isinstance(error.payment_id, str)
    assert isinstance(error.invoice_id, str)
    invoice = _operation("invoices", "get_invoice").sync(invoice_id=error.invoice_id, client=client)
    assert isinstance(invoice, models.InvoiceOut)
    assert invoice.status == "unpaid"
