"""Held money (rule 10) in the operator's hands: listed with its reason, applied to an invoice, credited to a
wallet, refunded through the gateway or by hand; each with a reason; the books balance after each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from langganan.apikeys import service as apikeys
from langganan.app import create_app, prepare
from langganan.kit.db import Database
from langganan.payments.gateway import GatewayUnavailable, RefundResult
from langganan.payments.sandbox import SandboxGateway
from tests.conftest import ADMIN_KEY, Env, make_settings


def _held(env: Env, **query: str) -> list[dict[str, Any]]:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return list(env.ok(env.get(f"/v1/unapplied-payments?{q}"))["data"])


def _overpaid(env: Env, extra: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An account whose Growth invoice was paid with `extra` too much (held as an overpayment)."""
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    env.pay_va(invoice, invoice["total"] + extra)
    (held,) = _held(env, account_id=acc["id"])
    assert (held["reason"], held["amount"], held["status"]) == ("overpayment", extra, "held")
    return acc, held


def test_apply_held_money_to_the_accounts_next_invoice(env: Env) -> None:
    acc, held = _overpaid(env, 200_000)
    top_up = env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "conversation", "amount": 150_000,
                                                                     "payment_method": "bank_transfer"}), 201)
    before = env.wallet(acc["id"])["balance"]
    done = env.ok(env.post(f"/v1/unapplied-payments/{held['id']}/apply",
                           {"invoice_id": top_up["id"], "reason": "customer asked to use it for a top-up"}))
    assert done["outcome"] == "applied" and done["unapplied_payment"]["status"] == "applied"
    assert done["unapplied_payment"]["resolution_reason"] == "customer asked to use it for a top-up"
    assert done["unapplied_payment"]["resolved_by"].startswith("api_key:")
    assert env.ok(env.get(f"/v1/invoices/{top_up['id']}"))["status"] == "paid"
    assert env.wallet(acc["id"])["balance"] == before + 150_000
    rest = _held(env, account_id=acc["id"], status="held")
    assert [(r["reason"], r["amount"]) for r in rest] == [("overpayment", 50_000)]  # beyond the top-up's total
    again = env.post(f"/v1/unapplied-payments/{held['id']}/apply", {"invoice_id": top_up["id"], "reason": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "unapplied_payment_resolved"
    env.assert_books()


def test_apply_refuses_another_accounts_invoice_and_a_missing_reason(env: Env) -> None:
    _acc, held = _overpaid(env, 10_000)
    other = env.account()
    foreign = env.ok(env.post(f"/v1/accounts/{other['id']}/top-ups", {"wallet": "conversation", "amount": 50_000,
                                                                       "payment_method": "bank_transfer"}), 201)
    res = env.post(f"/v1/unapplied-payments/{held['id']}/apply", {"invoice_id": foreign["id"], "reason": "oops"})
    assert res.status_code == 409 and res.json()["error"]["code"] == "account_mismatch"
    res = env.post(f"/v1/unapplied-payments/{held['id']}/apply", {"invoice_id": foreign["id"], "reason": " "})
    assert res.status_code == 422 and res.json()["error"]["code"] == "reason_required"
    assert _held(env, status="held")[0]["id"] == held["id"]  # nothing changed
    env.assert_books()


def test_credit_held_money_to_a_wallet(env: Env) -> None:
    acc, held = _overpaid(env, 30_000)
    before = env.wallet(acc["id"], "broadcast")["balance"]
    done = env.ok(env.post(f"/v1/unapplied-payments/{held['id']}/credit-wallet",
                           {"wallet": "broadcast", "reason": "keep it as broadcast credit"}))
    assert done["unapplied_payment"]["status"] == "credited"
    assert env.wallet(acc["id"], "broadcast")["balance"] == before + 30_000
    assert _held(env, status="credited")[0]["id"] == held["id"]
    env.assert_books()


def test_refund_by_hand_and_through_the_gateway(env: Env) -> None:
    _acc, held = _overpaid(env, 25_000)
    res = env.post(f"/v1/unapplied-payments/{held['id']}/refund", {"reason": "returned", "method": "manual"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "reference_required"
    done = env.ok(env.post(f"/v1/unapplied-payments/{held['id']}/refund",
                           {"reason": "returned to the customer's BCA", "method": "manual", "reference": "TRF-881"}))
    assert (done["unapplied_payment"]["status"], done["unapplied_payment"]["refund_method"],
            done["unapplied_payment"]["refund_ref"]) == ("refunded", "manual", "TRF-881")
    # Money that came through the gateway goes back through it (the sandbox's refund call).
    _acc2, second = _overpaid(env, 40_000)
    done = env.ok(env.post(f"/v1/unapplied-payments/{second['id']}/refund", {"reason": "paid twice"}))
    assert done["unapplied_payment"]["refund_method"] == "gateway"
    assert done["unapplied_payment"]["refund_ref"].startswith("rf_sbx_")
    assert {r["id"] for r in _held(env, status="refunded")} == {held["id"], second["id"]}
    env.assert_books()


def test_integration_keys_may_not_touch_held_money(env: Env) -> None:
    _acc, held = _overpaid(env, 5_000)
    with env.db.transaction() as s:
        _, token = apikeys.create(s, role="integration", name="app", now=datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    assert env.get("/v1/unapplied-payments", headers=headers).status_code == 403
    res = env.post(f"/v1/unapplied-payments/{held['id']}/refund", {"reason": "x y z"}, headers=headers)
    assert res.status_code == 403


class FlakyRefunds(SandboxGateway):
    """The sandbox gateway whose refund call first does not answer, then refuses."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.calls: list[str] = []

    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        self.calls.append(idempotency_key)
        if len(self.calls) == 1:
            raise GatewayUnavailable()
        return RefundResult(False, "rf_x", failure_code="refund_not_allowed", failure_message="Too late to refund.")


def test_a_gateway_refund_that_fails_leaves_the_money_held(database: Database) -> None:
    settings = make_settings(database)
    prepare(settings, database, migrate_if_empty=False)
    gateway = FlakyRefunds("test-secret")
    with TestClient(create_app(settings, database, gateway=gateway)) as client:
        env = Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        _acc, held = _overpaid(env, 12_000)
        down = env.post(f"/v1/unapplied-payments/{held['id']}/refund", {"reason": "paid twice"})
        assert down.status_code == 503 and down.json()["error"]["code"] == "gateway_unavailable"
        assert _held(env, status="held")[0]["id"] == held["id"]  # claimed, then given back
        refused = env.post(f"/v1/unapplied-payments/{held['id']}/refund", {"reason": "paid twice"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "refund_refused"
        assert "Too late to refund." in refused.json()["error"]["message"]
        assert _held(env, status="held")[0]["id"] == held["id"]
        assert gateway.calls == [held["id"], held["id"]]  # the same idempotency key each time
        env.assert_books()
