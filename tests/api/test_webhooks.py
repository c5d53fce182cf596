"""Webhook endpoints, signed deliveries to a real HTTP receiver, retries with backoff, fan-out once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from langganan.apikeys import service as apikeys
from langganan.events import service as events
from langganan.events.models import Event
from langganan.kit.clock import wall_now
from langganan.notifications.delivery import Courier
from langganan.notifications.mailer import SandboxMailer
from langganan.notifications.models import Delivery, Notification
from langganan.notifications.worker import dispatch_all
from tests.api.test_notifications import deliver
from tests.conftest import Env
from tests.notify_support import Receiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(timeout_sleep=1.5) as r:
        yield r


def _endpoint(env: Env, receiver: Receiver, events_: list[str]) -> dict[str, str]:
    created = env.ok(env.post("/v1/webhook-endpoints", {"url": receiver.url, "events": events_}), 201)
    receiver.secret = created["secret"]
    return dict(created)


class FakeWall:
    """Wall time a test moves by hand (transport backoff runs on wall time, rule 14)."""

    def __init__(self) -> None:
        self.now = wall_now()

    def __call__(self) -> datetime:
        return self.now


def _courier(env: Env, wall: FakeWall, **overrides: object) -> Courier:
    settings = env.settings.__class__(**{**env.settings.__dict__, **overrides})
    return Courier(mailer=SandboxMailer("x@example.id"), settings=settings, wall=wall)


def test_endpoints_are_admin_only_and_validated(env: Env) -> None:
    with env.db.transaction() as s:
        _key, token = apikeys.create(s, role="integration", name="saas", now=wall_now())
    integration = {"Authorization": f"Bearer {token}"}
    denied = env.post("/v1/webhook-endpoints", {"url": "https://example.id/h", "events": ["*"]}, headers=integration)
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    assert env.get("/v1/webhook-endpoints", headers=integration).status_code == 403
    url = "https://example.id/h"
    for body, code, param in (({"url": "ftp://example.id/h", "events": ["*"]}, "invalid_url", "url"),
                              ({"url": "https://", "events": ["*"]}, "invalid_url", "url"),
                              ({"url": "http://[abc/", "events": ["*"]}, "invalid_url", "url"),
                              ({"url": "http://[abc]/h", "events": ["*"]}, "invalid_url", "url"),
                              ({"url": "https://example.id:99999/h", "events": ["*"]}, "invalid_url", "url"),
                              ({"url": "https://example.id:port/h", "events": ["*"]}, "invalid_url", "url"),
                              ({"url": url, "events": []}, "invalid_events", "events"),
                              ({"url": url, "events": ["Invoice Paid"]}, "invalid_events", "events")):
        bad = env.post("/v1/webhook-endpoints", body)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == code, bad.text
        assert bad.json()["error"]["param"] == param
    assert env.post("/v1/webhook-endpoints", {"url": "https://example.id/h"}).status_code == 422
    assert env.ok(env.get("/v1/webhook-endpoints"))["data"] == []  # nothing was created

    created = env.ok(env.post("/v1/webhook-endpoints", {"url": "https://example.id/h",
                                                        "events": ["invoice.paid", "invoice.paid", "*"]}), 201)
    assert created["secret"].startswith("whsec_") and created["events"] == ["invoice.paid", "*"]
    assert created["status"] == "enabled"
    shown = env.ok(env.get(f"/v1/webhook-endpoints/{created['id']}"))
    assert "secret" not in shown and shown["url"] == "https://example.id/h"
    assert [e["id"] for e in env.ok(env.get("/v1/webhook-endpoints"))["data"]] == [created["id"]]
    gone = env.client.delete(f"/v1/webhook-endpoints/{created['id']}", headers=env.headers)
    assert gone.status_code == 200 and gone.json()["status"] == "disabled"
    missing = env.get("/v1/webhook-endpoints/we_missing/deliveries")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "webhook_endpoint_not_found"


def test_deliveries_are_signed_per_standard_webhooks(env: Env, receiver: Receiver) -> None:
    endpoint = _endpoint(env, receiver, ["invoice.created", "invoice.paid"])
    acc = env.account()
    invoice = env.buy(acc["id"], "growth")
    deliver(env)
    assert receiver.rejected_signatures == 0
    assert [r["payload"]["type"] for r in receiver.requests] == ["invoice.created", "invoice.paid"]
    first = receiver.requests[0]
    assert first["payload"]["data"]["invoice_id"] == invoice["id"]
    assert first["payload"]["data"]["account_id"] == acc["id"]
    event_ids = {e["type"]: e["id"] for e in env.ok(env.get(f"/v1/events?account_id={acc['id']}&limit=100"))["data"]}
    assert first["headers"]["webhook-id"] == event_ids["invoice.created"]
    assert abs(int(first["headers"]["webhook-timestamp"]) - wall_now().timestamp()) < 60  # wall time, not engine
    listed = env.ok(env.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"))["data"]
    assert [d["status"] for d in listed] == ["succeeded", "succeeded"]
    assert [a["status_code"] for a in listed[0]["attempts"]] == [204]


def test_a_failing_receiver_gets_each_event_exactly_once_after_retries(env: Env, receiver: Receiver) -> None:
    acc = env.account()
    deliver(env)  # the account's own events go out before the endpoint exists
    endpoint = _endpoint(env, receiver, ["*"])
    receiver.plan = [500, "timeout"]  # first attempt: 500; second: answers after the courier's timeout
    wall = FakeWall()
    courier = _courier(env, wall, delivery_backoff_seconds=30, delivery_timeout_seconds=0.5)
    with env.db.transaction() as s:
        event_id = events.emit(s, "custom.happened", acc["id"], {"thing": 1}, wall.now)
    dispatch_all(env.db, courier)

    assert courier.deliver_due(env.db).retrying == 1  # 500
    assert courier.deliver_due(env.db).total == 0  # not due before its backoff
    wall.now += timedelta(seconds=30)
    assert courier.deliver_due(env.db).retrying == 1  # timeout
    wall.now += timedelta(seconds=59)
    assert courier.deliver_due(env.db).total == 0  # backoff doubled: 60 s
    wall.now += timedelta(seconds=1)
    assert courier.deliver_due(env.db).succeeded == 1
    wall.now += timedelta(hours=1)
    assert courier.deliver_due(env.db).total == 0  # a successful delivery is never sent again

    assert list(receiver.accepted) == [event_id] and len(receiver.accepted[event_id]) == 1
    assert receiver.rejected_signatures == 0
    (listed,) = env.ok(env.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"))["data"]
    assert listed["status"] == "succeeded" and listed["event_id"] == event_id
    attempts = listed["attempts"]
    assert [(a["number"], a["succeeded"], a["status_code"]) for a in attempts] == [
        (1, False, 500), (2, False, None), (3, True, 204)]
    assert "Timeout" in attempts[1]["error"]
    assert attempts[1]["duration_ms"] >= 400


def test_a_delivery_gives_up_after_its_last_attempt(env: Env, receiver: Receiver) -> None:
    endpoint = _endpoint(env, receiver, ["custom.happened"])
    receiver.plan = [500, 503, 500]
    wall = FakeWall()
    courier = _courier(env, wall, delivery_max_attempts=2, delivery_backoff_seconds=10)
    with env.db.transaction() as s:
        events.emit(s, "custom.happened", None, {"n": 1}, wall.now)
    dispatch_all(env.db, courier)
    courier.deliver_due(env.db)
    wall.now += timedelta(seconds=10)
    assert courier.deliver_due(env.db).failed == 1
    wall.now += timedelta(days=1)
    assert courier.deliver_due(env.db).total == 0
    (listed,) = env.ok(env.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"))["data"]
    assert listed["status"] == "failed" and len(listed["attempts"]) == 2 and listed["last_error"] == "HTTP 503"
    assert len(receiver.requests) == 2


def test_a_crash_between_send_and_record_resends_after_the_lease_but_never_after_success(
        env: Env, receiver: Receiver) -> None:
    _endpoint(env, receiver, ["custom.happened"])
    wall = FakeWall()
    courier = _courier(env, wall)
    with env.db.transaction() as s:
        event_id = events.emit(s, "custom.happened", None, {}, wall.now)
    dispatch_all(env.db, courier)
    batch, _due = courier.claim(env.db)
    courier.send(batch[0])  # the worker dies here, before recording
    assert courier.deliver_due(env.db).total == 0  # still leased
    wall.now += courier.lease
    assert courier.deliver_due(env.db).succeeded == 1
    wall.now += courier.lease * 2
    assert courier.deliver_due(env.db).total == 0
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event_id, event_id]  # receiver dedupes


def test_unknown_event_types_reach_webhooks_and_the_feed_but_send_no_email(env: Env, receiver: Receiver) -> None:
    _endpoint(env, receiver, ["*"])
    acc = env.account(locale="en")
    deliver(env)
    receiver.requests.clear()
    with env.db.transaction() as s:
        events.emit(s, "custom.happened", acc["id"], {"thing": 1}, env.now())
    deliver(env)
    assert [r["payload"]["type"] for r in receiver.requests] == ["custom.happened"]
    feed = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications"))["data"]
    assert feed[0]["type"] == "custom.happened" and feed[0]["title"] == "Account activity: custom.happened"
    with env.db.transaction() as s:
        channels = s.scalars(select(Delivery.channel).where(Delivery.event_type == "custom.happened")).all()
    assert channels == ["webhook"]


def test_a_disabled_endpoint_gets_nothing_more(env: Env, receiver: Receiver) -> None:
    endpoint = _endpoint(env, receiver, ["*"])
    receiver.plan = [500]
    acc = env.account()
    deliver(env)  # account.created, ... : the first one fails and waits for its retry
    env.client.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=env.headers)
    sent = len(receiver.requests)
    env.buy(acc["id"], "growth")
    deliver(env)
    assert len(receiver.requests) == sent
    statuses = {d["status"] for d in env.ok(env.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
                                                    "?limit=100"))["data"]}
    assert statuses == {"canceled", "succeeded"}


def test_two_dispatchers_at_once_fan_each_event_out_once(env: Env, receiver: Receiver) -> None:
    _endpoint(env, receiver, ["*"])
    for _ in range(6):
        env.buy(env.account()["id"], "starter")
    courier = env.client.app.state.ctx.courier
    with env.db.transaction() as s:
        pending = s.scalar(select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None)))
    assert pending and pending > 30
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run() -> None:
        barrier.wait()
        counts.append(dispatch_all(env.db, courier))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == pending
    assert dispatch_all(env.db, courier) == 0
    with env.db.transaction() as s:
        webhooks = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.channel == "webhook"))
        feed = s.scalar(select(func.count()).select_from(Notification))
        per_event = s.execute(select(Delivery.event_id, Delivery.target, func.count()).group_by(
            Delivery.event_id, Delivery.target).having(func.count() > 1)).all()
    assert webhooks == pending and feed == pending and per_event == []
    courier.deliver_due(env.db)
    assert sum(len(v) for v in receiver.accepted.values()) == pending
    assert all(len(v) == 1 for v in receiver.accepted.values())
