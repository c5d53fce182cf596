"""/metrics (issue 17, "Observe"): it needs an admin API key (the listener of its own, LANGGANAN_METRICS_ADDRESS,
and multiprocess mode are tested on real processes in tests/integration/test_served.py and test_observed.py),
and each counter moves by what was done, counted once it was committed. The instruments are process-wide, so
each test compares a scrape after its work with one before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from langganan.events.models import Event
from langganan.kit.clock import wall_now
from langganan.kit.models import EngineClock
from langganan.notifications.models import Delivery
from langganan.notifications.worker import dispatch_all
from tests.api.test_legacy_import import GOOD, HEADER, post_csv
from tests.api.test_notifications import deliver
from tests.api.test_protocol import integration_headers
from tests.api.test_wallets_usage import usage
from tests.conftest import CLOCK_START, Env
from tests.notify_support import Receiver, webhook_receiver

Key = tuple[str, tuple[tuple[str, str], ...]]


class Scrape:
    """One scrape's samples by name and labels."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples: dict[Key, float] = {(s.name, tuple(sorted(s.labels.items()))): s.value
                                          for f in self.families.values() for s in f.samples}

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def labels(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for (sample, labels) in self.samples if sample == name}


def scrape(env: Env) -> Scrape:
    res = env.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain; version="), res.text
    return Scrape(res.text)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after(name, **labels) - before(name, **labels)


def test_metrics_need_an_admin_key(env: Env) -> None:
    acc = env.account()
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))  # one unpaid invoice
    env.buy(env.account()["id"], "pro")  # one paid
    anonymous = env.client.get("/metrics", headers={})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "missing_api_key"
    wrong = env.client.get("/metrics", headers={"Authorization": "Bearer lgn_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    integration = env.client.get("/metrics", headers=integration_headers(env))
    assert integration.status_code == 403 and integration.json()["error"]["code"] == "forbidden"
    found = scrape(env)
    assert found.families["langganan_invoices"].type == "gauge"
    by_status = {s.labels["status"]: s.value for s in found.families["langganan_invoices"].samples}
    assert by_status == {"paid": 1, "unpaid": 1}
    assert found("langganan_database_up") == 1


def test_http_requests_are_counted_by_route_template_and_status_never_by_raw_path(env: Env) -> None:
    acc = env.account()
    before = scrape(env)
    for _ in range(3):
        env.ok(env.get(f"/v1/accounts/{acc['id']}/subscription"))
    assert env.client.get(f"/v1/accounts/{acc['id']}/subscription").status_code == 401  # answered by the key gate
    assert env.get("/v1/accounts/acc_nobody/subscription").status_code == 404
    assert env.get(f"/no/such/{acc['id']}").status_code == 404
    assert env.client.get("/static/style.css").status_code == 200
    after = scrape(env)
    route = "/v1/accounts/{account_id}/subscription"
    assert moved(before, after, "langganan_http_requests_total", method="GET", route=route, status="200") == 3
    assert moved(before, after, "langganan_http_requests_total", method="GET", route=route, status="401") == 1
    assert moved(before, after, "langganan_http_requests_total", method="GET", route=route, status="404") == 1
    assert moved(before, after, "langganan_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert moved(before, after, "langganan_http_requests_total", method="GET", route="/static/{path}",
                 status="200") == 1
    assert moved(before, after, "langganan_http_request_duration_seconds_count", method="GET", route=route) == 5
    assert moved(before, after, "langganan_http_request_duration_seconds_bucket", method="GET", route=route,
                 le="+Inf") == 5
    # Every route label is a route's template (or `unmatched`): no id, no raw path.
    templates = {r.path_format for r in iter_route_contexts(env.client.app.routes)} | {"/static/{path}", "unmatched"}
    routes = after.labels("langganan_http_requests_total", "route")
    assert routes <= templates, routes - templates
    assert not [r for r in routes if acc["id"] in r or "acc_" in r or "nobody" in r]


def test_usage_events_are_counted_by_outcome_and_reason_and_debits_in_rupiah(env: Env) -> None:
    acc = env.account()  # Free: Rp15.000 of conversation credit
    before = scrape(env)
    for i in range(4):
        env.ok(usage(env, f"m-{i}", acc["id"]), 201)  # Rp30 each
    env.ok(usage(env, "m-0", acc["id"]), 200)  # the same event again: a duplicate, nothing debited
    assert usage(env, "m-0", acc["id"], quantity=2).status_code == 409  # the same id, another body
    assert usage(env, "big", acc["id"], quantity=600).status_code == 402  # Rp18.000 > Rp14.880
    assert usage(env, "who", "acc_nobody").status_code == 404
    batch = env.ok(env.post("/v1/usage/batch", {"events": [
        {"id": "b-1", "account_id": acc["id"], "meter": "conversation_reply", "quantity": 10},
        {"id": "b-2", "account_id": acc["id"], "meter": "broadcast_message"},  # Free sends no broadcasts
        {"id": "m-1", "account_id": acc["id"], "meter": "conversation_reply"}]}))
    assert [(r["status"], r["code"]) for r in batch["results"]] == [
        ("accepted", None), ("rejected", "quota_exceeded"), ("duplicate", None)]
    after = scrape(env)
    events = "langganan_usage_events_total"
    assert moved(before, after, events, outcome="accepted", reason="") == 5
    assert moved(before, after, events, outcome="duplicate", reason="") == 2
    assert moved(before, after, events, outcome="rejected", reason="event_id_conflict") == 1
    assert moved(before, after, events, outcome="rejected", reason="insufficient_balance") == 1
    assert moved(before, after, events, outcome="rejected", reason="quota_exceeded") == 1
    assert moved(before, after, events, outcome="rejected", reason="account_not_found") == 1
    debits = "langganan_wallet_debits_rupiah_total"
    assert moved(before, after, debits, wallet="conversation", type="usage") == 4 * 30 + 10 * 30
    assert moved(before, after, debits, wallet="broadcast", type="usage") == 0
    assert env.wallet(acc["id"])["balance"] == 15_000 - 420


def test_payments_count_gateway_calls_by_outcome_and_invoices_issued_and_paid(env: Env) -> None:
    before = scrape(env)
    card_buyer, declined_buyer, transfer_buyer = env.account(), env.account(), env.account()
    pm = env.card(card_buyer["id"])
    paid = env.ok(env.post(f"/v1/accounts/{card_buyer['id']}/subscription/change",
                           {"plan": "growth", "payment_method": "card", "payment_method_id": pm}))["invoice"]
    bad = env.card(declined_buyer["id"], "4000000000000002")
    declined = env.post(f"/v1/accounts/{declined_buyer['id']}/subscription/change",
                        {"plan": "growth", "payment_method": "card", "payment_method_id": bad})
    assert declined.status_code == 402
    transfer = env.buy(transfer_buyer["id"], "pro")
    env.top_up(transfer_buyer["id"], "broadcast", 100_000)
    after = scrape(env)
    calls = "langganan_gateway_calls_total"
    assert moved(before, after, calls, gateway="sandbox", operation="charge", outcome="succeeded") == 1
    assert moved(before, after, calls, gateway="sandbox", operation="charge", outcome="declined") == 1
    assert moved(before, after, calls, gateway="sandbox", operation="card_details", outcome="ok") == 2
    assert moved(before, after, calls, gateway="sandbox", operation="create_virtual_account", outcome="ok") == 2
    assert moved(before, after, "langganan_gateway_call_duration_seconds_count", gateway="sandbox",
                 operation="charge") == 2
    issued, paid_count = "langganan_invoices_issued_total", "langganan_invoices_paid_total"
    assert moved(before, after, issued, type="subscription") == 3
    assert moved(before, after, issued, type="top_up") == 1
    assert moved(before, after, paid_count, type="subscription") == 2  # the declined one is unpaid
    assert moved(before, after, paid_count, type="top_up") == 1
    assert moved(before, after, "langganan_invoices_paid_rupiah_total", type="subscription") \
        == paid["total"] + transfer["total"]
    assert moved(before, after, "langganan_invoices_paid_rupiah_total", type="top_up") == 100_000
    assert moved(before, after, "langganan_wallet_credits_rupiah_total", wallet="broadcast", type="top_up") \
        == 100_000


def test_what_a_rolled_back_transaction_did_is_not_counted(env: Env) -> None:
    before = scrape(env)
    dry = env.ok(post_csv(env, HEADER + GOOD, dry_run=True))  # two waived invoices issued, then rolled back
    assert dry["summary"]["imported"] == 2
    middle = scrape(env)
    assert moved(before, middle, "langganan_invoices_issued_total", type="subscription") == 0
    assert moved(before, middle, "langganan_wallet_credits_rupiah_total", wallet="conversation", type="grant") == 0
    env.ok(post_csv(env, HEADER + GOOD))
    after = scrape(env)
    assert moved(middle, after, "langganan_invoices_issued_total", type="subscription") == 2
    assert moved(middle, after, "langganan_wallet_credits_rupiah_total", wallet="conversation", type="grant") > 0


def _set_engine_clock(env: Env, days: int) -> None:
    """The engine clock moves on without any due work running (as when the worker is down)."""
    with env.db.transaction() as s:
        s.execute(update(EngineClock).values(frozen_at=CLOCK_START + timedelta(days=days)))


def test_due_lag_is_the_wait_of_the_earliest_due_subscription_and_the_runner_is_timed(env: Env) -> None:
    acc = env.account()  # a Free period from 15 January 10:00 WIB to 15 February
    assert scrape(env)("langganan_due_subscriptions") == 0 and scrape(env)("langganan_due_lag_seconds") == 0
    _set_engine_clock(env, 40)  # 9 days past the period end
    before = scrape(env)
    assert before("langganan_due_subscriptions") == 1
    assert before("langganan_due_lag_seconds") == 9 * 86400
    env.advance(hours=1)  # runs the due work
    after = scrape(env)
    assert (after("langganan_due_subscriptions"), after("langganan_due_lag_seconds")) == (0, 0)
    assert moved(before, after, "langganan_due_batch_duration_seconds_count") >= 1
    assert moved(before, after, "langganan_due_run_duration_seconds_count") == 1
    assert moved(before, after, "langganan_due_steps_total", step="period_end") == 1
    # the unspent Free grant expired with its period and the new period's was granted
    assert moved(before, after, "langganan_wallet_debits_rupiah_total", wallet="conversation", type="expiry") \
        == 15_000
    assert moved(before, after, "langganan_wallet_credits_rupiah_total", wallet="conversation", type="grant") \
        == 15_000
    assert env.subscription(acc["id"])["plan"] == "free"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


def _undispatched(env: Env) -> tuple[int, Any]:
    with env.db.transaction() as s:
        count, earliest = s.execute(select(func.count(), func.min(Event.created_at))
                                    .where(Event.dispatched_at.is_(None))).one()
        return int(count), earliest


def test_outbox_and_delivery_backlogs_and_deliveries_by_outcome(env: Env, receiver: Receiver) -> None:
    deliver(env)  # (nothing from before this test waits)
    created = env.ok(env.post("/v1/webhook-endpoints", {"url": receiver.url, "events": ["invoice.created"]}), 201)
    receiver.secret = created["secret"]
    receiver.plan = [500]  # the first webhook is refused, then retried later
    acc = env.account()
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))  # invoice.created
    _set_engine_clock(env, 1)  # a day later, nothing has been fanned out yet
    pending, earliest = _undispatched(env)
    assert pending >= 2
    before = scrape(env)
    assert before("langganan_outbox_pending") == pending
    assert before("langganan_outbox_oldest_age_seconds") == (CLOCK_START + timedelta(days=1) - earliest) \
        .total_seconds() >= 86400

    dispatch_all(env.db, env.client.app.state.ctx.courier)
    middle = scrape(env)
    with env.db.transaction() as s:
        made = {str(c): int(n) for c, n in s.execute(select(Delivery.channel, func.count()).group_by(Delivery.channel))}
    assert made["webhook"] == 1 and made["email"] >= 1
    assert (middle("langganan_outbox_pending"), middle("langganan_outbox_oldest_age_seconds")) == (0, 0)
    assert middle("langganan_deliveries_pending", channel="webhook") == 1
    assert middle("langganan_deliveries_pending", channel="email") == made["email"]
    assert 0 <= middle("langganan_deliveries_oldest_age_seconds", channel="webhook") < 600

    report = deliver(env)
    after = scrape(env)
    assert (report.delivered.succeeded, report.delivered.retrying) == (made["email"], 1)
    deliveries = "langganan_deliveries_total"
    assert moved(before, after, deliveries, channel="email", outcome="succeeded") == made["email"]
    assert moved(before, after, deliveries, channel="webhook", outcome="retrying") == 1
    assert moved(before, after, deliveries, channel="webhook", outcome="succeeded") == 0
    assert moved(before, after, "langganan_delivery_duration_seconds_count", channel="webhook") == 1
    assert after("langganan_deliveries_pending", channel="webhook") == 1  # waiting for its retry
    assert after("langganan_deliveries_pending", channel="email") == 0

    with env.db.transaction() as s:  # the retry falls due
        s.execute(update(Delivery).where(Delivery.channel == "webhook").values(next_attempt_at=wall_now()))
    deliver(env)
    last = scrape(env)
    assert moved(after, last, deliveries, channel="webhook", outcome="succeeded") == 1
    assert last("langganan_deliveries_pending", channel="webhook") == 0
