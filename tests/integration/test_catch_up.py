"""Due work that catches up does what running it all along would have done (issue 12).

A stopped worker, an outage or a long sandbox advance leaves several due steps of one subscription
overdue at once. The runner replays each subscription's agenda in time order, with its invoices'
expiry interleaved at their own instants, so one jump of the clock gives the same books as many small
steps: one renewal invoice per period (an expired or failed one is never replaced), a declined card's
retries charge that same invoice, and bank-transfer and migrated accounts get one virtual account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from langganan.invoices.models import Invoice
from langganan.kit.db import Database
from langganan.payments.models import Payment
from tests.conftest import Env
from tests.engine_support import advance_in_steps, books, engine

Scenario = Callable[[Env], None]


def bank_growth(env: Env) -> None:
    acc = env.account(external_id="bank")["id"]
    env.buy(acc, "growth")


def declined_card(env: Env) -> None:
    acc = env.account(external_id="card")["id"]
    good = env.card(acc)
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": good}))
    bad = env.card(acc, "4000000000000002")
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/auto-renew", {"enabled": True, "payment_method_id": bad}))


def migrated(env: Env) -> None:
    csv = ("account_key,name,email,plan,interval,enrolled_on,last_unpaid_month\n"
           "legacy-1,Toko Lama,lama@example.id,growth,month,2025-03-10,2025-12\n")
    res = env.client.post("/v1/legacy-imports", content=csv.encode(),
                          headers={**env.headers, "Content-Type": "text/csv"})
    assert res.status_code == 200 and res.json()["results"][0]["status"] == "imported", res.text


def trial_with_declined_card(env: Env) -> None:
    acc = env.account(external_id="trial", start_trial=True)["id"]
    bad = env.card(acc, "4000000000000002")
    env.ok(env.post(f"/v1/accounts/{acc}/subscription/auto-renew", {"enabled": True, "payment_method_id": bad}))


def _renewals_per_period(db: Database) -> list[int]:
    with db.transaction() as s:
        return list(s.scalars(select(func.count()).select_from(Invoice).where(Invoice.type == "renewal")
                              .group_by(Invoice.subscription_id, Invoice.period_start)))


def _run(database: Database, scenario: Scenario, moves: list[timedelta], step: timedelta | None) -> dict[str, Any]:
    with engine(database) as env:
        scenario(env)
        for move in moves:
            if step is None:
                env.advance(to=(env.now() + move).isoformat())
            else:
                advance_in_steps(env, move, step)
        env.assert_books()
        assert set(_renewals_per_period(env.db)) <= {1}
        return books(env.db)


@pytest.mark.parametrize("scenario", [bank_growth, declined_card, migrated, trial_with_declined_card])
def test_one_jump_gives_the_books_of_many_small_steps(database: Database, scenario: Scenario) -> None:
    # first to just after the renewal invoice is issued ahead (7 days before the end), then past every
    # retry and grace period at once
    moves = [timedelta(days=25), timedelta(days=40)]
    stepped = _run(database, scenario, moves, timedelta(hours=11))
    jumped = _run(database, scenario, moves, None)
    assert jumped == stepped


def test_a_declined_card_is_retried_on_the_same_invoice_and_the_invoice_fails(database: Database) -> None:
    with engine(database) as env:
        declined_card(env)
        env.advance(days=60)
        with env.db.transaction() as s:
            renewal = s.scalars(select(Invoice).where(Invoice.type == "renewal")).one()
            attempts = s.scalars(select(Payment.status).where(Payment.invoice_id == renewal.id)).all()
        assert renewal.status == "failed"
        assert attempts == ["failed"] * 4  # the charge at period end and its three retries
        account = env.ok(env.get("/v1/accounts?external_id=card"))["data"][0]
        assert env.subscription(account["id"])["plan"] == "free"
