"""Faults injected into the due work (issue 12): a batch that fails midway and is retried, and a worker
that dies between the gateway's answer and recording it. Each run ends with the books a run without the
fault gives, nothing billed twice and nothing lost, and `langganan verify` clean. (Two workers at once on
one due set: test_catch_up_property.py and tests/integration/test_due_workers.py.)"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from langganan import lifecycle
from langganan.kit.db import Database
from langganan.payments import service as payments
from langganan.payments.gateway import ChargeResult
from langganan.payments.sandbox import SandboxGateway
from langganan.subscriptions.models import Subscription
from tests.conftest import Env
from tests.engine_support import books, engine

Fault = Callable[[pytest.MonkeyPatch, Env], None]
LEASE = 1  # seconds (wall time) before a charge whose outcome was not recorded is charged again


def _accounts(env: Env) -> None:
    """Six subscriptions whose period ends on the same day: bank transfer, card, card declined."""
    for i in range(6):
        acc = env.account(external_id=f"a{i}")["id"]
        if i % 3 == 0:
            env.buy(acc, "growth")
            continue
        card = env.card(acc, "4242424242424242" if i % 3 == 1 else "4000000000000002")
        good = env.card(acc) if i % 3 == 2 else card
        env.ok(env.post(f"/v1/accounts/{acc}/subscription/change",
                        {"plan": "starter", "payment_method": "card", "payment_method_id": good}))
        env.ok(env.post(f"/v1/accounts/{acc}/subscription/auto-renew", {"enabled": True, "payment_method_id": card}))


class Ledger(SandboxGateway):
    """The sandbox gateway, recording what it was asked to charge: the money a customer would see taken."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.calls: Counter[str] = Counter()
        self.taken: dict[str, int] = {}

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        self.calls[idempotency_key] += 1
        result = super().charge(token=token, amount=amount, currency=currency, idempotency_key=idempotency_key,
                                description=description)
        if result.succeeded:  # the same key charges once, however often it is asked
            self.taken[idempotency_key] = amount
        return result


@pytest.fixture
def ledger_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Ledger]]:
    made: list[Ledger] = []

    def make(settings: Any, db: Database) -> Ledger:
        secret = settings.sandbox_gateway_secret
        assert secret is not None
        gateway = Ledger(secret)
        made.append(gateway)
        return gateway

    monkeypatch.setattr("langganan.app.make_gateway", make)
    yield made


def _run(database: Database, monkeypatch: pytest.MonkeyPatch, fault: Fault | None) -> dict[str, Any]:
    with engine(database, charge_lease_seconds=LEASE) as env:
        _accounts(env)
        with monkeypatch.context() as patch:
            if fault is not None:
                fault(patch, env)
            env.advance(days=31)  # every period ends, the cards are charged, the first retries are due
        time.sleep(LEASE + 0.1)  # a charge whose outcome was not recorded is charged again after its lease
        env.advance(days=1)  # what the fault left is picked up: due again, or its charge reclaimed
        env.advance(days=10)
        env.assert_books()
        return books(env.db)


def _failing(step: Callable[..., Any], fail_for: Counter[str]) -> Callable[..., Any]:
    """`step`, raising for the subscriptions in `fail_for` as many times as it counts."""
    def failing(s: lifecycle.Step) -> Any:
        if fail_for[s.sub.id] > 0:
            fail_for[s.sub.id] -= 1
            raise RuntimeError(f"injected: the step of {s.sub.id} failed")
        return step(s)
    return failing


def a_batch_fails_midway(patch: pytest.MonkeyPatch, env: Env) -> None:
    """The period end of two subscriptions fails once each: a0's (bank transfer, first in the batch) fails
    the whole batch, which then goes one subscription at a time; there a0's goes through and a1's (card)
    fails, so a1 is left due for the next run while every other subscription goes on."""
    with env.db.transaction() as s:
        subs = {s_.account_id: s_.id for s_ in s.scalars(select(Subscription))}
    ids = [env.ok(env.get(f"/v1/accounts?external_id={key}"))["data"][0]["id"] for key in ("a0", "a1")]
    patch.setitem(lifecycle.STEPS, "period_end", _failing(lifecycle.STEPS["period_end"],
                                                            Counter({subs[ids[0]]: 1, subs[ids[1]]: 1})))


def a_worker_dies_after_the_gateway_answered(patch: pytest.MonkeyPatch, env: Env) -> None:
    """Recording the outcome of two card charges fails after the gateway answered (one took the money,
    one was declined): the payments stay pending, their lease runs out, and they are charged again with
    the same key; the gateway answers as the first time."""
    record = payments.record_charge
    dead: set[str] = set()

    def dying(session: Any, settings: Any, payment_id: str, *args: Any, **kw: Any) -> Any:
        if payment_id in dead or len(dead) < 2:
            dead.add(payment_id)
            raise RuntimeError(f"injected: the worker died before recording {payment_id}")
        return record(session, settings, payment_id, *args, **kw)

    patch.setattr(payments, "record_charge", dying)


@pytest.mark.parametrize("fault", [a_batch_fails_midway, a_worker_dies_after_the_gateway_answered])
def test_after_the_fault_the_books_are_those_of_a_run_without_it(database: Database, monkeypatch: pytest.MonkeyPatch,
                                                                   ledger_gateway: list[Ledger], fault: Fault) -> None:
    clean = _run(database, monkeypatch, None)
    faulty = _run(database, monkeypatch, fault)
    assert faulty == clean
    gateway = ledger_gateway[-1]
    assert sum(gateway.calls.values()) > len(gateway.calls) or fault is a_batch_fails_midway  # charged again...
    charged = sorted(v for k, v in gateway.taken.items())
    assert charged == sorted(v for k, v in ledger_gateway[0].taken.items())  # ...but money taken once per charge
    renewal_payments = [p for acc in faulty.values() for p in acc["payments"] if p[1] == "succeeded"]
    assert len(renewal_payments) == len([p for acc in clean.values() for p in acc["payments"] if p[1] == "succeeded"])


def test_the_faults_really_fail_something(database: Database, monkeypatch: pytest.MonkeyPatch,
                                          ledger_gateway: list[Ledger]) -> None:
    """The injected faults bite: with them the due work is left half done until it is picked up again."""
    with engine(database, charge_lease_seconds=3600) as env:  # a lease that does not run out in the test
        _accounts(env)
        with monkeypatch.context() as patch:
            a_worker_dies_after_the_gateway_answered(patch, env)
            env.advance(days=31)
        with env.db.transaction() as s:
            in_flight = s.scalars(select(Subscription).where(Subscription.renewal_payment_id.is_not(None))).all()
        assert len(in_flight) == 2  # charged at the gateway, outcome not recorded: pending, not billed again
        env.advance(days=1)
        assert sum(ledger_gateway[-1].calls.values()) == len(ledger_gateway[-1].calls)  # within the lease: not again


def test_a_failing_step_leaves_its_subscription_due_and_the_others_done(database: Database,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      ledger_gateway: list[Ledger]) -> None:
    with engine(database) as env:
        _accounts(env)
        with monkeypatch.context() as patch:
            a_batch_fails_midway(patch, env)
            now = env.now() + timedelta(days=31)
            env.advance(days=31)
        with env.db.transaction() as s:
            overdue = {sub.account_id for sub in s.scalars(select(Subscription))
                       if sub.current_period_end <= now and sub.status == "active" and sub.plan_code != "free"}
        a1 = env.ok(env.get("/v1/accounts?external_id=a1"))["data"][0]["id"]
        assert overdue == {a1}  # it failed when tried alone: left for the next run
