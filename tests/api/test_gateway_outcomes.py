"""What a gateway can say about a payment beyond "paid" (payments.service.handle_notification), QRIS as a
third way to pay, and the status check that settles payments whose callback never came."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from langganan.app import create_app, prepare
from langganan.kit.db import Database
from langganan.payments import service
from langganan.payments.gateway import Notification, Outcome
from langganan.payments.models import Payment, PaymentStatus, UnappliedPayment
from langganan.payments.sandbox import SandboxGateway
from tests.conftest import ADMIN_KEY, Env, make_settings


def _pending_va(env: Env, plan: str = "pro") -> dict[str, Any]:
    acc = env.account()
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": plan}))["invoice"]
    return dict(invoice)


def _tell(env: Env, note: Notification, provider: str = "sandbox") -> str:
    with env.db.transaction() as s:
        return service.handle_notification(s, env.settings, provider, note, env.now())


def _note(invoice: dict[str, Any], outcome: Outcome, event: str, **kw: Any) -> Notification:
    return Notification(event_id=event, outcome=outcome, amount=kw.pop("amount", invoice["total"]), currency="IDR",
                        provider_ref="trx_" + event, reference=invoice["payment"]["id"], **kw)


def test_qris_invoice_is_paid_by_scanning_its_code(env: Env) -> None:
    acc = env.account()
    res = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                          {"plan": "growth", "payment_method": "qris"}))
    payment = res["invoice"]["payment"]
    assert payment["method"] == "qris" and payment["qr_string"].startswith("000201")
    assert payment["va_number"] is None and payment["va_expires_at"]
    again = env.ok(env.post(f"/v1/invoices/{res['invoice']['id']}/pay", {"payment_method": "qris"}))
    assert again["payment"]["id"] == payment["id"]  # the open code is reused, not a second one
    paid = env.ok(env.post("/v1/sandbox/qris-payments", {"payment_id": payment["id"],
                                                        "amount": res["invoice"]["total"]}))
    assert paid["outcome"] == "applied"
    assert env.ok(env.get(f"/v1/invoices/{res['invoice']['id']}"))["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "growth"
    env.assert_books()


@pytest.fixture
def small_qris(database: Database) -> Iterator[Env]:
    settings = make_settings(database, qris_max_amount=100_000)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_qris_is_refused_above_its_limit_and_nothing_changes(small_qris: Env) -> None:
    env = small_qris
    acc = env.account()
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "pro", "payment_method": "qris"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "qris_amount_too_large"
    assert "100000" in res.json()["error"]["message"]
    with env.db.transaction() as s:
        assert s.scalars(select(Payment)).all() == []
    assert env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups",
                           {"wallet": "conversation", "amount": 50_000, "payment_method": "qris"}), 201)


def test_a_failed_or_expired_transfer_ends_only_a_pending_payment(env: Env) -> None:
    invoice = _pending_va(env)
    assert _tell(env, _note(invoice, Outcome.PENDING, "e1")) == "ignored_pending"
    assert _tell(env, _note(invoice, Outcome.EXPIRED, "e2")) == "expired"
    assert _tell(env, _note(invoice, Outcome.EXPIRED, "e2")) == "duplicate"
    assert _tell(env, _note(invoice, Outcome.FAILED, "e3")) == "ignored_failed"  # already over
    # Money that arrives on the lapsed account anyway still pays its invoice (rule 10).
    assert _tell(env, _note(invoice, Outcome.PAID, "e4")) == "applied"
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
    other = _pending_va(env)
    assert _tell(env, _note(other, Outcome.FAILED, "f1", failure_code="bank_rejected")) == "failed"
    payment = env.ok(env.get(f"/v1/invoices/{other['id']}"))["payment"]
    assert payment["status"] == "failed" and payment["failure_code"] == "bank_rejected"
    env.assert_books()


def test_money_taken_back_after_it_paid_is_held_as_owed_and_the_books_balance(env: Env) -> None:
    invoice = _pending_va(env)
    assert _tell(env, _note(invoice, Outcome.PAID, "s1")) == "applied"
    assert _tell(env, _note(invoice, Outcome.FAILED, "s2", failure_code="deny")) == "reversed"
    assert _tell(env, _note(invoice, Outcome.FAILED, "s2", failure_code="deny")) == "duplicate"
    with env.db.transaction() as s:
        held = s.scalars(select(UnappliedPayment)).all()
        assert [(u.reason, u.amount) for u in held] == [("reversed", -invoice["total"])]
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"  # fulfilled; now owed
    assert "payment.reversed" in env.event_types(invoice["account_id"])
    env.assert_books()


def test_news_about_a_payment_nobody_issued(env: Env) -> None:
    note = Notification(event_id="u1", outcome=Outcome.EXPIRED, amount=1000, currency="IDR", provider_ref="trx",
                        reference="pay_nobody")
    assert _tell(env, note) == "ignored_unknown_expired"
    paid = Notification(event_id="u2", outcome=Outcome.PAID, amount=1000, currency="IDR", provider_ref="trx",
                        reference="pay_nobody")
    assert _tell(env, paid) == "held_unknown_virtual_account"
    env.assert_books()


class StatusGateway(SandboxGateway):
    """The sandbox gateway with a status API: the test says what the gateway knows, and counts the asks."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.known: dict[str, Notification] = {}
        self.asked: list[str] = []

    def status(self, reference: str) -> Notification | None:
        self.asked.append(reference)
        return self.known.get(reference)


@pytest.fixture
def checked(database: Database) -> Iterator[tuple[Env, StatusGateway]]:
    settings = make_settings(database, payment_status_check_minutes=30)
    prepare(settings, database, migrate_if_empty=False)
    gateway = StatusGateway("test-secret")
    with TestClient(create_app(settings, database, gateway=gateway)) as client:
        yield Env(db=database, settings=settings, client=client,
                  headers={"Authorization": f"Bearer {ADMIN_KEY}"}), gateway


def _tick(env: Env) -> None:
    """Let the due work run without time passing to speak of."""
    env.advance(to=(env.now() + timedelta(seconds=1)).isoformat())


def test_a_lost_callback_is_found_by_the_status_check(checked: tuple[Env, StatusGateway]) -> None:
    env, gateway = checked
    paid, lapsed, quiet = _pending_va(env), _pending_va(env), _pending_va(env)
    gateway.known[paid["payment"]["id"]] = _note(paid, Outcome.PAID, "st1")
    gateway.known[lapsed["payment"]["id"]] = _note(lapsed, Outcome.EXPIRED, "st2")
    _tick(env)
    assert gateway.asked == []  # younger than the check's age: not asked
    env.advance(hours=1)
    assert sorted(gateway.asked) == sorted(i["payment"]["id"] for i in (paid, lapsed, quiet))
    assert env.ok(env.get(f"/v1/invoices/{paid['id']}"))["status"] == "paid"
    assert env.ok(env.get(f"/v1/invoices/{lapsed['id']}"))["payment"]["status"] == "expired"
    with env.db.transaction() as s:
        assert s.get(Payment, quiet["payment"]["id"]).status == PaymentStatus.PENDING  # type: ignore[union-attr]
    asked = len(gateway.asked)
    _tick(env)
    assert len(gateway.asked) == asked  # asked at most once per interval
    env.assert_books()
