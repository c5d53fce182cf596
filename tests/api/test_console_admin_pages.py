"""Console promotions and webhook endpoints, and the portal feed's mark-read and promotion note, over
HTTP on SQLite and PostgreSQL: every new route needs a staff (or portal) session and its CSRF token,
a refused form changes nothing, the form validates like the API, a webhook secret is shown once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from langganan.notifications.models import Notification
from langganan.notifications.worker import run_notifications
from langganan.promotions.models import Promotion
from langganan.webhooks.models import WebhookEndpoint
from tests.api.test_portal_security import CSRF_RE, _console_login, portal_visitor
from tests.conftest import Env


def ops(env: Env) -> tuple[TestClient, str]:
    with env.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, "ops@example.id", "correct horse battery").status_code == 303
    csrf = CSRF_RE.search(client.get("/console/promotions").text).group(1)  # type: ignore[union-attr]
    return client, csrf


def counts(env: Env) -> tuple[Any, ...]:
    with env.db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(Promotion)),
                tuple(s.execute(select(WebhookEndpoint.id, WebhookEndpoint.status)
                                .order_by(WebhookEndpoint.id)).all()),
                tuple(s.execute(select(Notification.id, Notification.read_at).order_by(Notification.id)).all()))


PROMO_FORM = {"code": "spring20", "kind": "percent", "value": "20", "plans": ["growth", "pro"],
              "ends_on": "2027-03-31", "max_redemptions": "2"}


def test_new_console_routes_need_a_staff_session_and_the_csrf_token(env: Env) -> None:
    client, csrf = ops(env)
    promo = client.post("/console/promotions", data={**PROMO_FORM, "csrf_token": csrf}, follow_redirects=False)
    assert promo.status_code == 303
    created = client.post("/console/webhooks", data={"url": "https://hooks.example.id/in", "events": "*",
                                                     "csrf_token": csrf})
    endpoint_id = re.search(r'data-endpoint="(we_[a-z0-9]+)"', created.text).group(1)  # type: ignore[union-attr]
    promo_id = env.ok(env.get("/v1/promotions"))["data"][0]["id"]
    before = counts(env)
    anonymous = TestClient(env.client.app)
    acc = env.account(locale="en")
    portal = portal_visitor(env, acc["id"])  # a portal session is no console session
    gets = ["/console/promotions", f"/console/promotions/{promo_id}", "/console/webhooks",
            f"/console/webhooks/{endpoint_id}"]
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/console/promotions", {**PROMO_FORM, "code": "OTHER10"}),
        ("/console/webhooks", {"url": "https://evil.example/x", "events": "*"}),
        (f"/console/webhooks/{endpoint_id}/disable", {})]
    for who in (anonymous, portal.client):
        for path in gets:
            r = who.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/console/login", path
        for path, form in posts:
            r = who.post(path, data={**form, "csrf_token": portal.csrf}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/console/login", path
    for bad in ({}, {"csrf_token": "forged"}, {"csrf_token": portal.csrf}):
        for path, form in posts:
            r = client.post(path, data={**form, **bad}, follow_redirects=False)
            assert r.status_code == 403, (path, bad)
            assert "whsec_" not in r.text
    assert counts(env) == before
    # the right token in the htmx header works
    r = client.post(f"/console/webhooks/{endpoint_id}/disable", headers={"X-CSRF-Token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert env.ok(env.get(f"/v1/webhook-endpoints/{endpoint_id}"))["status"] == "disabled"
    assert client.get("/console/promotions/promo_nope").status_code == 404
    assert client.get("/console/webhooks/we_nope").status_code == 404
    assert client.post("/console/webhooks/we_nope/disable", data={"csrf_token": csrf}).status_code == 404


def test_promotions_are_created_with_the_apis_validation_and_list_their_redemptions(env: Env) -> None:
    client, csrf = ops(env)
    refused = [({"value": "150"}, 422, "percent_off"), ({"value": "lots"}, 422, "whole number"),
               ({"code": "x"}, 422, "A code is 3-40 letters"), ({"plans": ["free"]}, 422, "Choose at least one paid"),
               ({"plans": []}, 422, "plans"), ({"ends_on": "", "duration_months": ""}, 422, "end date in the future"),
               ({"duration_months": "3"}, 422, "not both"), ({"ends_on": "2025-01-01"}, 422, "in the future"),
               ({"ends_on": "31/03/2027"}, 422, "2027-03-31"), ({"kind": "gold"}, 422, "Give exactly one discount"),
               ({"max_redemptions": "0"}, 422, "max_redemptions")]
    for change, status, text in refused:
        r = client.post("/console/promotions", data={**PROMO_FORM, **change, "csrf_token": csrf})
        assert r.status_code == status and text in r.text, (change, r.status_code)
        typed = f'value="{change.get("code", "spring20")}"'
        assert 'aria-invalid="true"' in r.text and typed in r.text, change  # what was typed stays
    # the API refuses the same bodies with the same codes
    api = env.post("/v1/promotions", {"code": "SPRING20", "percent_off": 150, "plans": ["growth"],
                                      "ends_at": "2027-03-31T00:00:00+07:00"})
    assert api.status_code == 422 and api.json()["error"]["param"] == "percent_off"
    assert env.ok(env.get("/v1/promotions"))["data"] == []

    r = client.post("/console/promotions", data={**PROMO_FORM, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    listing = client.get(r.headers["location"]).text
    assert "Promotion SPRING20 created." in listing
    row = listing[listing.index('data-promotion="SPRING20"'):].split("</tr>")[0]
    assert "20% off" in row and "Growth, Pro" in row and "31 Mar 2027" in row and "0 / 2" in row
    [promo] = env.ok(env.get("/v1/promotions"))["data"]
    assert (promo["code"], promo["percent_off"], promo["plans"], promo["ends_at"], promo["max_redemptions"]) == \
        ("SPRING20", 20, ["growth", "pro"], "2027-03-30T17:00:00Z", 2)
    again = client.post("/console/promotions", data={**PROMO_FORM, "csrf_token": csrf})
    assert again.status_code == 409 and "A promotion with this code exists." in again.text
    r = client.post("/console/promotions", data={**PROMO_FORM, "code": "FLAT50K", "kind": "amount", "value": "50000",
                                                 "ends_on": "", "duration_months": "3", "max_redemptions": "",
                                                 "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    flat = client.get("/console/promotions").text
    flat_row = flat[flat.index('data-promotion="FLAT50K"'):].split("</tr>")[0]
    assert "Rp50,000 off" in flat_row and "3 months from redemption" in flat_row and "0 / no limit" in flat_row

    a, b = env.account(locale="en", name="Toko Satu"), env.account(locale="en", name="Toko Dua")
    for acc in (a, b):
        env.ok(env.post(f"/v1/accounts/{acc['id']}/promotions", {"code": "spring20"}), 201)
    detail = client.get(f"/console/promotions/{promo['id']}").text
    assert "Toko Satu" in detail and "Toko Dua" in detail and detail.count("15 Jan 2026, 10:00") == 2
    assert "2 / 2" in client.get("/console/promotions").text
    assert client.get("/console/promotions/spring20").status_code == 200  # by code too
    assert "Diskon 20%" in client.get("/console/promotions?lang=id").text
    assert "created." not in client.get("/console/promotions?msg=NOPE&lang=en").text  # no made-up notices


def test_webhook_secret_is_shown_once_and_deliveries_show_each_attempt(env: Env) -> None:
    client, csrf = ops(env)
    for form, text in (({"url": "ftp://x", "events": "*"}, "Use an absolute http:// or https:// URL."),
                       ({"url": "http://[abc/", "events": "*"}, "Use an absolute http:// or https:// URL."),
                       ({"url": "https://hooks.example.id", "events": ""}, "Name event types"),
                       ({"url": "https://hooks.example.id", "events": "Invoice Paid"}, "Name event types"),
                       ({"url": "https://hooks.example.id", "events": "*", "description": "d" * 201}, "description")):
        r = client.post("/console/webhooks", data={**form, "csrf_token": csrf})
        assert r.status_code == 422 and text in r.text and "whsec_" not in r.text
    assert env.ok(env.get("/v1/webhook-endpoints"))["data"] == []

    # nothing listens on port 1 of loopback: every attempt is a refused connection, over real HTTP
    r = client.post("/console/webhooks", data={"url": "http://127.0.0.1:1/hook", "events": "invoice.created, "
                                               "invoice.paid invoice.created", "description": "ERP",
                                               "csrf_token": csrf})
    assert r.status_code == 200 and "Endpoint created." in r.text
    secret = re.search(r'data-testid="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<', r.text).group(1)  # type: ignore[union-attr]
    [endpoint] = env.ok(env.get("/v1/webhook-endpoints"))["data"]
    assert endpoint["events"] == ["invoice.created", "invoice.paid"] and endpoint["description"] == "ERP"
    with env.db.transaction() as s:
        assert s.get(WebhookEndpoint, endpoint["id"]).secret == secret  # type: ignore[union-attr]
    listing = client.get("/console/webhooks").text
    assert "http://127.0.0.1:1/hook" in listing and "invoice.created, invoice.paid" in listing
    assert secret not in listing and "whsec_" not in listing

    acc = env.account(locale="en")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "broadcast", "amount": 10000}), 201)
    run_notifications(env.db, env.client.app.state.ctx.courier)
    page = client.get(f"/console/webhooks/{endpoint['id']}")
    assert page.status_code == 200 and secret not in page.text and "whsec_" not in page.text
    row = page.text[page.text.index("data-delivery="):].split("</tr>")[0]
    assert "invoice.created" in row and "pending" in row and "ConnectError" in row and "#1 " in row
    assert "Next attempt" in row
    api = env.ok(env.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"))["data"]
    assert [len(d["attempts"]) for d in api] == [1] and api[0]["attempts"][0]["succeeded"] is False

    r = client.post(f"/console/webhooks/{endpoint['id']}/disable", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Endpoint disabled" in r.text
    assert env.ok(env.get(f"/v1/webhook-endpoints/{endpoint['id']}"))["status"] == "disabled"
    assert "canceled" in client.get(f"/console/webhooks/{endpoint['id']}").text
    assert f'action="/console/webhooks/{endpoint["id"]}/disable"' not in client.get("/console/webhooks").text
    assert "Endpoint webhook" in client.get("/console/webhooks?lang=id").text


def test_the_feed_marks_items_read_and_the_header_counts_unread(env: Env) -> None:
    a, b = env.account(locale="en"), env.account(locale="en")
    for acc in (a, b):
        env.top_up(acc["id"], "conversation", 50000)
    run_notifications(env.db, env.client.app.state.ctx.courier)
    feed_a = env.ok(env.get(f"/v1/accounts/{a['id']}/notifications"))["data"]
    feed_b = env.ok(env.get(f"/v1/accounts/{b['id']}/notifications"))["data"]
    assert len(feed_a) >= 2 and feed_b
    va = portal_visitor(env, a["id"])
    home = va.client.get("/portal").text
    page = va.client.get("/portal/notifications").text
    entries = page.count('class="unread"')  # one per happening: the top-up's invoice, payment and credit are one
    assert 2 <= entries < len(feed_a)
    assert f'data-testid="unread-count" aria-hidden="true">{entries}</span>' in home and f"{entries} unread" in page

    before = counts(env)
    assert TestClient(env.client.app).post("/portal/notifications/read").status_code == 401
    for bad in ({}, {"csrf_token": "forged"}):
        assert va.client.post("/portal/notifications/read", data=bad).status_code == 403
        assert va.client.post(f"/portal/notifications/{feed_a[0]['id']}/read", data=bad).status_code == 403
    # another account's item is not found, and stays unread
    r = va.client.post(f"/portal/notifications/{feed_b[0]['id']}/read", data={"csrf_token": va.csrf})
    assert r.status_code == 404 and feed_b[0]["title"] not in r.text
    assert counts(env) == before

    r = va.client.post(f"/portal/notifications/{feed_a[-1]['id']}/read", data={"csrf_token": va.csrf},
                       follow_redirects=False)
    assert r.status_code == 303
    assert env.ok(env.get(f"/v1/accounts/{a['id']}/notifications?unread=true"))["data"].__len__() == len(feed_a) - 1
    read_alone = env.ok(env.get(f"/v1/accounts/{a['id']}/notifications"))["data"][-1]
    assert read_alone["id"] == feed_a[-1]["id"] and read_alone["read_at"]
    env.advance(hours=1)
    r = va.client.post("/portal/notifications/read", data={"csrf_token": va.csrf})
    assert r.status_code == 200 and "Notifications marked read." in r.text and 'class="unread"' not in r.text
    assert 'data-testid="unread-count"' not in r.text and "All caught up." in r.text
    read = env.ok(env.get(f"/v1/accounts/{a['id']}/notifications"))["data"]
    assert all(n["read_at"] for n in read)
    first_read = {n["id"]: n["read_at"] for n in read}
    assert first_read[read_alone["id"]] == read_alone["read_at"]  # read before: keeps its first time
    assert len(set(first_read.values())) == 2
    env.advance(hours=1)
    va.client.post("/portal/notifications/read", data={"csrf_token": va.csrf})  # again: nothing changes
    assert {n["id"]: n["read_at"] for n in env.ok(env.get(f"/v1/accounts/{a['id']}/notifications"))["data"]} \
        == first_read
    assert all(n["read_at"] is None for n in env.ok(env.get(f"/v1/accounts/{b['id']}/notifications"))["data"])


@pytest.mark.parametrize("locale, expected", [("en", "20% off until 31 Mar 2027 (SPRING20)"),
                                              ("id", "Diskon 20% sampai 31 Mar 2027 (SPRING20)")])
def test_the_subscription_page_shows_the_promotion_the_api_shows(env: Env, locale: str, expected: str) -> None:
    env.ok(env.post("/v1/promotions", {"code": "SPRING20", "percent_off": 20, "plans": ["growth"],
                                       "ends_at": "2027-03-31T00:00:00+07:00"}), 201)
    acc = env.account(locale=locale)
    v = portal_visitor(env, acc["id"])
    assert 'class="promotion-note"' not in v.client.get("/portal").text
    env.ok(env.post(f"/v1/accounts/{acc['id']}/promotions", {"code": "spring20"}), 201)
    env.buy(acc["id"], "growth")
    promotion = env.subscription(acc["id"])["promotion"]
    assert (promotion["code"], promotion["percent_off"], promotion["ends_at"]) == \
        ("SPRING20", 20, "2027-03-30T17:00:00Z")
    page = v.client.get("/portal").text
    assert f'<dd class="promotion-note">{expected}</dd>' in page
    # an upgrade removes the promotion, and the note with it
    env.buy(acc["id"], "pro")
    assert env.subscription(acc["id"])["promotion"] is None
    assert 'class="promotion-note"' not in v.client.get("/portal").text


def test_an_amount_off_promotion_note_is_in_rupiah(env: Env) -> None:
    env.ok(env.post("/v1/promotions", {"code": "FLAT50K", "amount_off": 50000, "plans": ["growth"],
                                       "duration_months": 3}), 201)
    acc = env.account(locale="en")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/promotions", {"code": "FLAT50K"}), 201)
    assert "Rp50,000 off until 15 Apr 2026 (FLAT50K)" in portal_visitor(env, acc["id"]).client.get("/portal").text


def test_the_console_clock_advances_like_the_api_within_the_same_10_year_cap(env: Env) -> None:
    client, csrf = ops(env)
    start = env.now()
    for form in ({"days": "3660", "hours": "87840"}, {"days": "3660", "hours": "1"}, {"days": "3661"},
                 {"hours": "87841"}, {"days": "0", "hours": "0"}, {"days": "-1"}, {"days": "1.5"},
                 {"days": "99999999999999999999"}, {"days": "9" * 5000}):
        r = client.post("/console/clock", data={**form, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 422, (form, r.status_code)
        assert env.now() == start, form
    r = client.post("/console/clock", data={"days": "2", "hours": "3", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/clock?msg=")
    assert env.now() == start + timedelta(days=2, hours=3)
    assert "Clock advanced" in client.get(r.headers["location"]).text


CONSOLE_PAGES = {  # page -> (an English text it shows, its Indonesian text)
    "/console": ("Search (name, email, id, external id)", "Cari (nama, email, id, id eksternal)"),
    "/console/accounts/{acc}": ("Billing info", "Info penagihan"),
    "/console/invoices": ("Number, invoice id or account id", "Nomor, id invoice atau id akun"),
    "/console/events": ("Account id", "Id akun"),
    "/console/catalog": ("Broadcasts / month", "Broadcast / bulan"),
    "/console/clock": ("Advance and run due work", "Majukan dan jalankan pekerjaan jatuh tempo"),
}


def test_every_console_page_speaks_indonesian_with_lang_id(env: Env) -> None:
    client, _ = ops(env)
    acc = env.account()["id"]
    env.ok(env.post(f"/v1/accounts/{acc}/top-ups", {"wallet": "broadcast", "amount": 10000}), 201)  # an invoice
    for path, (english, indonesian) in CONSOLE_PAGES.items():
        url = path.format(acc=acc)
        en, id_ = client.get(f"{url}?lang=en").text, client.get(f"{url}?lang=id").text  # the choice sticks
        assert english in en and indonesian not in en, url
        assert indonesian in id_ and english not in id_, url
    invoices = client.get("/console/invoices?lang=id").text
    assert "Konfirmasi pembayaran" in invoices and "Confirm payment" not in invoices
    account = client.get(f"/console/accounts/{acc}?lang=id").text
    assert "Log peristiwa lengkap" in account and "Full event log" not in account
    anonymous = TestClient(env.client.app)
    login = anonymous.get("/console/login?lang=id").text
    assert "Masuk staf" in login and "Kata sandi" in login and "Staff sign-in" not in login
