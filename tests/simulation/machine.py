"""The engine simulation (issue 12): a hypothesis state machine that drives the real engine over HTTP
with random interleavings of what customers, operators, gateways and time do, and after every step
checks that `langganan verify` is clean and that the reference model (model.py) agrees on each
account's plan, interval, status, period end and invoices.

Actions: accounts with and without a trial, trial extensions, legacy imports, saved cards that pay or
decline, auto-renew on and off, purchases, upgrades and downgrades by card and bank transfer, manual
renewals, cancels (now and at period end), top-ups, usage and broadcast reservations, promotions,
virtual-account payments (exact, over, late, twice), gateway callbacks replayed or forged, and clock
moves from a minute to 90 days, or to just before or after an account's period end.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from langganan.accounts.models import Account
from langganan.events.models import Event
from langganan.invoices.models import Invoice
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.periods import add_months_anchored
from langganan.legacy.rules import anniversary_period
from langganan.subscriptions.models import Subscription
from langganan.verify import violations
from tests.conftest import BILLING, Env
from tests.engine_support import engine
from tests.simulation.model import FREE, PAYMENT_DAYS, RANK, Acct, Inv, Model

STATS = os.environ.get("LANGGANAN_SIM_STATS")  # a file to append each example's event counts to
MAX_ACCOUNTS = 5  # enough to interleave; more only dilutes each account's lifecycle
ZONES = ("Asia/Jakarta", "Asia/Makassar", "America/New_York")
PAID_PLANS = ("starter", "growth", "pro")
METHODS = ("bank", "good", "bad")  # bank transfer, a card that pays, a card that is declined
CARDS = {"good": "4242424242424242", "bad": "4000000000000002"}
EDGES = (timedelta(days=-8), timedelta(days=-7, hours=-1), timedelta(hours=-1), timedelta(0), timedelta(hours=1),
         timedelta(days=1), timedelta(days=3), timedelta(days=5, hours=1), timedelta(days=6))


class EngineMachine(RuleBasedStateMachine):
    """Subclassed with the database to run on (`for_database`)."""

    database: Database
    accounts = Bundle("accounts")

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.env: Env = self.stack.enter_context(engine(self.database))
        setup_promotions(self.env)
        self.model = Model()
        self.now = self.env.now()
        self.ids: dict[str, str] = {}  # model key -> account id
        self.cards: dict[tuple[str, str], str] = {}  # (key, good|bad) -> payment method id
        self.paid_notes: list[tuple[dict[str, str], bytes]] = []  # signed callbacks that were delivered
        self.n = 0

    def teardown(self) -> None:
        if STATS:  # a soak's record of what this example reached: its events by type, one JSON line
            with self.env.db.transaction() as s:
                counts = dict(s.execute(select(Event.type, func.count()).group_by(Event.type)).all())
            with open(STATS, "a") as out:
                out.write(json.dumps(counts) + "\n")
        self.stack.close()

    # -- helpers -----------------------------------------------------------------------------
    def _acc(self, key: str) -> Acct:
        return self.model.accounts[key]

    def _post(self, path: str, body: Any) -> Any:
        return self.env.post(path, body)

    def _card(self, key: str, kind: str) -> str:
        if (key, kind) not in self.cards:
            self.cards[(key, kind)] = self.env.card(self.ids[key], CARDS[kind])
        return self.cards[(key, kind)]

    def _pay_body(self, key: str, method: str) -> dict[str, Any]:
        if method == "bank":
            return {"payment_method": "bank_transfer"}
        return {"payment_method": "card", "payment_method_id": self._card(key, method)}

    def _settle(self, acc: Acct, inv: Inv, method: str, res: Any) -> None:
        """What the checkout's immediate card charge did, as the model expects it."""
        if method == "bank" or inv.status == "paid":
            assert res.status_code in (200, 201), res.text
            return
        if method == "good":
            assert res.status_code in (200, 201), res.text
            assert self.model.pay(acc, inv, self.now, card=True), "a paid card charge the model cannot apply"
            if inv.action.get("kind") in ("purchase", "upgrade"):
                acc.card = "good"
        else:
            assert res.status_code == 402, res.text

    # -- accounts ------------------------------------------------------------------------------
    @initialize(target=accounts)
    def first_account(self) -> str:
        return self._open(False, ZONES[0])

    @initialize(target=accounts, plan=st.sampled_from(PAID_PLANS), interval=st.sampled_from(("month", "year")),
                method=st.sampled_from(METHODS), tz=st.sampled_from(ZONES))
    def paying_account(self, plan: str, interval: str, method: str, tz: str) -> str:
        """An account that buys a plan at once (and, by bank transfer, pays it): renewals come sooner."""
        key = self._open(False, tz)
        self.change_plan(key, plan, interval, method)
        if method == "bank":
            self.pay_by_transfer(key, 0, "all", False)
        return key

    @precondition(lambda self: len(self.ids) < MAX_ACCOUNTS)
    @rule(target=accounts, trial=st.booleans(), tz=st.sampled_from(ZONES))
    def open_account(self, trial: bool, tz: str) -> str:
        return self._open(trial, tz)

    def _open(self, trial: bool, tz: str) -> str:
        self.n += 1
        key = f"acct-{self.n}"
        acc = self.env.ok(self.env.post("/v1/accounts", {"name": f"Toko {self.n}", "email": f"{key}@example.id",
                                                         "external_id": key, "timezone": tz, "start_trial": trial}),
                          201)
        self.env.ok(self.env.put(f"/v1/accounts/{acc['id']}/billing-info", BILLING))
        self.ids[key] = acc["id"]
        self.model.open(key, tz, self.now, trial=trial)
        return key

    @precondition(lambda self: len(self.ids) < MAX_ACCOUNTS)
    @rule(target=accounts, months_ago=st.integers(1, 30), plan=st.sampled_from(PAID_PLANS),
          interval=st.sampled_from(("month", "year")))
    def legacy_import(self, months_ago: int, plan: str, interval: str) -> str:
        self.n += 1
        key = f"legacy-{self.n}"
        local = self.now.astimezone(datetime.now().astimezone().tzinfo)
        enrolled = (add_months_anchored(self.now, -months_ago, local.day, ZONES[0]) - timedelta(days=3)).date()
        unpaid = (self.now - timedelta(days=20)).strftime("%Y-%m")
        if date.fromisoformat(f"{unpaid}-01") < enrolled.replace(day=1):
            unpaid = enrolled.strftime("%Y-%m")
        row = {"account_key": key, "name": f"Lama {self.n}", "email": f"{key}@example.id", "plan": plan,
               "interval": interval, "enrolled_on": enrolled.isoformat(), "last_unpaid_month": unpaid}
        res = self.env.ok(self.env.post("/v1/legacy-imports", {"rows": [row]}))["results"][0]
        assert res["status"] == "imported", res
        self.ids[key] = res["account_id"]
        self.env.ok(self.env.put(f"/v1/accounts/{res['account_id']}/billing-info", BILLING))
        start, end = anniversary_period(enrolled, interval, ZONES[0], self.now)
        self.model.migrated(key, ZONES[0], plan, interval, start, end, self.now, res["invoice_id"])
        return key

    @rule(key=accounts, days=st.integers(1, 20))
    def extend_trial(self, key: str, days: int) -> None:
        acc = self._acc(key)
        res = self._post(f"/v1/accounts/{self.ids[key]}/subscription/extend-trial", {"days": days})
        if acc.status != "trialing":
            assert res.status_code == 409, res.text
            return
        assert res.status_code == 200, res.text
        acc.end += timedelta(days=days)
        acc.changed_at = self.now

    # -- cards and auto-renew -------------------------------------------------------------------
    @rule(key=accounts, on=st.booleans(), kind=st.sampled_from(("good", "bad")))
    def auto_renew(self, key: str, on: bool, kind: str) -> None:
        acc = self._acc(key)
        body = {"enabled": on, "payment_method_id": self._card(key, kind)} if on else {"enabled": False}
        self.env.ok(self._post(f"/v1/accounts/{self.ids[key]}/subscription/auto-renew", body))
        acc.auto_renew, acc.changed_at = on, self.now
        if on:
            acc.card = kind

    # -- plan changes ---------------------------------------------------------------------------
    @rule(key=accounts, plan=st.sampled_from(("free", *PAID_PLANS)), interval=st.sampled_from(("month", "year")),
          method=st.sampled_from(METHODS))
    def change_plan(self, key: str, plan: str, interval: str, method: str) -> None:
        acc = self._acc(key)
        res = self._post(f"/v1/accounts/{self.ids[key]}/subscription/change",
                         {"plan": plan, "interval": interval, **self._pay_body(key, method)})
        kind = self._classify(acc, plan, interval)
        if acc.status == "past_due":
            assert res.status_code == 409 and res.json()["error"]["code"] == "renewal_overdue", res.text
            return
        if kind == "same":
            assert res.status_code == 409 and res.json()["error"]["code"] == "same_plan", res.text
            return
        if kind == "downgrade":
            assert res.status_code == 200, res.text
            self.model.cancel_open_purchases(acc)
            if acc.status != "trialing":
                self.model.void_open_renewal(acc)
            acc.pending, acc.cancel_at_end, acc.changed_at = (plan, interval), False, self.now
            return
        body = res.json()
        invoice = body["invoice"] if res.status_code == 200 else None
        if invoice is None:  # a declined card: the invoice is left unpaid (its id is in the error)
            assert res.status_code == 402, res.text
            invoice = self.env.ok(self.env.get(f"/v1/invoices/{body['error']['invoice_id']}"))
        self.model.cancel_open_purchases(acc)
        if kind == "purchase":
            inv = self.model.issued(acc, invoice["id"], "subscription", "unpaid", self.now,
                                    self.now + PAYMENT_DAYS, kind="purchase", plan=plan, interval=interval)
        else:
            end = acc.end if interval == acc.interval else add_months_anchored(acc.start, 12, acc.anchor_day,
                                                                               acc.tz, acc.anchor_time)
            inv = self.model.issued(acc, invoice["id"], "plan_change", "unpaid", self.now,
                                    min(self.now + PAYMENT_DAYS, acc.end), kind="upgrade", plan=plan,
                                    interval=interval, end=end, **{"from": (acc.plan, acc.interval, acc.start)})
            if invoice["total"] == 0:  # nothing left to pay (the last day of a period): applied at issue
                assert self.model.pay(acc, inv, self.now)
        self._settle(acc, inv, method, res)

    def _classify(self, acc: Acct, plan: str, interval: str) -> str:
        """purchase | upgrade | downgrade | same (DESIGN: Subscriptions; rule 2)."""
        if acc.plan == FREE or acc.status == "trialing":
            if plan == FREE:
                return "same" if acc.plan == FREE else "downgrade"
            return "purchase"
        if plan == FREE:
            return "downgrade"
        if (plan, interval) == (acc.plan, acc.interval):
            return "same"
        if acc.interval == "year" and interval == "month":
            return "downgrade"
        if RANK[plan] > RANK[acc.plan] or (RANK[plan] == RANK[acc.plan] and interval == "year"):
            return "upgrade"
        return "downgrade"

    @rule(key=accounts, method=st.sampled_from(METHODS))
    def renew(self, key: str, method: str) -> None:
        acc = self._acc(key)
        res = self._post(f"/v1/accounts/{self.ids[key]}/subscription/renew", self._pay_body(key, method))
        if acc.plan == FREE or acc.status == "trialing":
            assert res.status_code == 409 and res.json()["error"]["code"] == "nothing_to_renew", res.text
            return
        renewal = acc.renewal()
        if renewal is not None and renewal.status != "unpaid":
            expected = "already_renewed" if renewal.status == "paid" else "renewal_lapsed"
            assert res.status_code == 409 and res.json()["error"]["code"] == expected, res.text
            return
        if renewal is None:
            renewal = self.model._renewal(acc, expires_at=acc.end + timedelta(days=3))
            renewal.action.update(plan=acc.plan, interval=acc.interval,
                                  end=add_months_anchored(acc.end, 12 if acc.interval == "year" else 1,
                                                          acc.anchor_day, acc.tz, acc.anchor_time))
        self._settle(acc, renewal, method, res)

    @rule(key=accounts, at_period_end=st.booleans())
    def cancel(self, key: str, at_period_end: bool) -> None:
        acc = self._acc(key)
        res = self._post(f"/v1/accounts/{self.ids[key]}/subscription/cancel", {"at_period_end": at_period_end})
        if acc.plan == FREE:
            assert res.status_code == 409, res.text
            return
        assert res.status_code == 200, res.text
        self.model.cancel_open_purchases(acc)
        if at_period_end:
            acc.cancel_at_end, acc.pending, acc.changed_at = True, None, self.now
        else:
            self.model._to_free(acc, self.now)

    @rule(key=accounts, code=st.sampled_from(("additional_user", "additional_contact")), quantity=st.integers(1, 3),
          method=st.sampled_from(METHODS))
    def buy_add_on(self, key: str, code: str, quantity: int, method: str) -> None:
        acc = self._acc(key)
        res = self._post(f"/v1/accounts/{self.ids[key]}/add-ons",
                         {"add_on": code, "quantity": quantity, **self._pay_body(key, method)})
        if acc.plan == FREE or acc.status != "active":
            expected = "renewal_overdue" if acc.status == "past_due" else "paid_plan_required"
            assert res.status_code == 409 and res.json()["error"]["code"] == expected, res.text
            return
        invoice = res.json() if res.status_code == 201 else self.env.ok(
            self.env.get(f"/v1/invoices/{res.json()['error']['invoice_id']}"))
        inv = self.model.issued(acc, invoice["id"], "add_on", "unpaid", self.now,
                                min(self.now + PAYMENT_DAYS, acc.end), kind="add_on", start=acc.start)
        if invoice["total"] == 0:  # no whole day left: nothing to pay, active at once
            assert self.model.pay(acc, inv, self.now)
        self._settle(acc, inv, method, res)

    # -- wallets --------------------------------------------------------------------------------
    @rule(key=accounts, wallet=st.sampled_from(("conversation", "broadcast")), method=st.sampled_from(METHODS))
    def top_up(self, key: str, wallet: str, method: str) -> None:
        acc = self._acc(key)
        res = self._post(f"/v1/accounts/{self.ids[key]}/top-ups",
                         {"wallet": wallet, "amount": 50_000, **self._pay_body(key, method)})
        invoice = res.json() if res.status_code == 201 else self.env.ok(
            self.env.get(f"/v1/invoices/{res.json()['error']['invoice_id']}"))
        inv = self.model.issued(acc, invoice["id"], "top_up", "unpaid", self.now, self.now + PAYMENT_DAYS,
                                kind="top_up")
        if method == "good":
            assert res.status_code == 201 and self.model.pay(acc, inv, self.now), res.text
        elif method == "bad":
            assert res.status_code == 402, res.text

    @rule(key=accounts, meter=st.sampled_from(("conversation_reply", "broadcast_message")),
          quantity=st.integers(1, 400), repeat=st.booleans())
    def usage(self, key: str, meter: str, quantity: int, repeat: bool) -> None:
        self.n += 1
        body = {"id": f"use-{self.n}", "account_id": self.ids[key], "meter": meter, "quantity": quantity}
        first = self._post("/v1/usage", body)
        assert first.status_code in (201, 402, 409), first.text
        if repeat:
            again = self._post("/v1/usage", body)
            assert again.status_code == (200 if first.status_code == 201 else first.status_code), again.text

    @rule(key=accounts, quantity=st.integers(1, 50), delivered=st.integers(0, 50),
          close=st.sampled_from(("capture", "release", "leave")))
    def reservation(self, key: str, quantity: int, delivered: int, close: str) -> None:
        res = self._post("/v1/reservations", {"account_id": self.ids[key], "meter": "broadcast_message",
                                              "quantity": quantity, "expires_in_seconds": 3600})
        if res.status_code != 201:
            assert res.status_code in (402, 409), res.text
            return
        rid = res.json()["id"]
        if close == "capture":
            self.env.ok(self._post(f"/v1/reservations/{rid}/capture", {"quantity": min(delivered, quantity)}))
        elif close == "release":
            self.env.ok(self._post(f"/v1/reservations/{rid}/release", {}))

    @rule(key=accounts)
    def redeem_promotion(self, key: str) -> None:
        res = self._post(f"/v1/accounts/{self.ids[key]}/promotions", {"code": "HALF3"})
        assert res.status_code in (201, 409), res.text

    # -- money arriving -------------------------------------------------------------------------
    def _va_invoices(self, key: str) -> list[dict[str, Any]]:
        found = self.env.ok(self.env.get(f"/v1/invoices?account_id={self.ids[key]}&limit=100"))["data"]
        return [i for i in found if (i.get("payment") or {}).get("va_number")]

    def _model_invoice(self, acc: Acct, invoice: dict[str, Any]) -> Inv:
        if invoice["type"] == "renewal":
            start = datetime.fromisoformat(invoice["lines"][0]["period_start"])
            return next(i for i in acc.invoices if i.type == "renewal" and i.action["start"] == start
                        and (i.status != "canceled" or invoice["status"] == "canceled"))
        return next(i for i in acc.invoices if i.key == invoice["id"])

    @rule(key=accounts, pick=st.integers(0, 20), part=st.sampled_from(("all", "all", "over", "short", "half")),
          replay=st.booleans())
    def pay_by_transfer(self, key: str, pick: int, part: str, replay: bool) -> None:
        invoices = self._va_invoices(key)
        if not invoices:
            return
        invoice = invoices[pick % len(invoices)]
        acc = self._acc(key)
        inv = self._model_invoice(acc, invoice)
        total = invoice["total"]
        amount = {"all": total, "over": total + 1_000, "short": total - 1, "half": max(1, total // 2)}[part]
        gateway = self.env.client.app.state.ctx.gateway  # type: ignore[attr-defined]
        headers, body = gateway.signed_transfer(invoice["payment"]["va_number"], amount, "IDR", wall_now=wall_now())
        res = self.env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
        outcome = self.env.ok(res)["outcome"]
        applied = self.model.pay(acc, inv, self.now, amount=amount, total=total)
        assert (outcome == "applied") == applied, (outcome, inv)
        if replay:  # the gateway sends the same callback again: applied once
            again = self.env.client.post("/v1/gateways/sandbox/notifications", content=body, headers=headers)
            assert self.env.ok(again)["outcome"] == "duplicate"

    @rule(key=accounts)
    def forged_callback(self, key: str) -> None:
        invoices = self._va_invoices(key)
        if not invoices:
            return
        body = json.dumps({"event_id": "forged", "type": "va.paid", "va_number": invoices[0]["payment"]["va_number"],
                           "amount": invoices[0]["total"], "currency": "IDR"}).encode()
        res = self.env.client.post("/v1/gateways/sandbox/notifications", content=body, headers={
            "x-sandbox-timestamp": str(int(wall_now().timestamp())), "x-sandbox-signature": "0" * 64})
        assert res.status_code == 401, res.text

    # -- time -----------------------------------------------------------------------------------
    def _advance_to(self, to: datetime) -> None:
        self.env.advance(to=to.isoformat())
        self.model.advance(self.now, to)
        self.now = to

    @rule(unit=st.sampled_from(("minutes", "hours", "days")), n=st.integers(1, 90))
    def advance(self, unit: str, n: int) -> None:
        step = {"minutes": timedelta(minutes=n), "hours": timedelta(hours=n % 48 or 1),
                "days": timedelta(days=n)}[unit]
        self._advance_to(self.now + step)

    @rule(key=accounts, edge=st.sampled_from(EDGES))
    def advance_to_period_edge(self, key: str, edge: timedelta) -> None:
        to = self._acc(key).end + edge
        if to > self.now:
            self._advance_to(to)

    # -- after every step -----------------------------------------------------------------------
    @invariant()
    def books_are_right(self) -> None:
        with self.env.db.transaction() as s:
            problems = [str(v) for v in violations(s, self.env.settings)]
            assert problems == [], problems
            by_id = {a.id: a.external_id for a in s.scalars(select(Account))}
            subs = {by_id[sub.account_id]: sub for sub in s.scalars(select(Subscription))}
            invoices: dict[str, list[tuple[str, str]]] = {}
            for inv in s.scalars(select(Invoice)):
                invoices.setdefault(str(by_id[inv.account_id]), []).append((inv.type, inv.status))
        for key, acc in self.model.accounts.items():
            sub = subs[key]
            engine_says = (sub.plan_code, sub.interval, sub.status, sub.current_period_end)
            model_says = (acc.plan, acc.interval, acc.status, acc.end)
            assert engine_says == model_says, f"{key}: the engine says {engine_says}, the model {model_says}"
            engine_invoices = sorted(invoices.get(key, []))
            model_invoices = sorted((i.type, i.status) for i in acc.invoices)
            assert engine_invoices == model_invoices, \
                f"{key}: the engine has invoices {engine_invoices}, the model {model_invoices}"


def for_database(database: Database) -> type[EngineMachine]:
    return type("Simulation", (EngineMachine,), {"database": database})


def setup_promotions(env: Env) -> None:
    env.ok(env.post("/v1/promotions", {"code": "HALF3", "percent_off": 50, "plans": ["growth", "pro"],
                                       "duration_months": 3}), 201)
