"""Portal and console security over HTTP, on SQLite and PostgreSQL: a portal session sees its own
account only (another account's ids answer 404, never data), every form needs its CSRF token,
no session means 401 (portal) or a redirect to sign-in (console), cookies are HttpOnly/SameSite
and Secure over HTTPS, links work once, console sign-in is rate limited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from langganan.console import service as staff
from langganan.console.models import LoginAttempt
from langganan.kit.clock import wall_now
from langganan.payments.models import Payment
from langganan.web.models import WebSession
from tests.conftest import Env

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Visitor:
    client: TestClient
    csrf: str
    token: str


def portal_visitor(env: Env, account_id: str, *, base_url: str = "http://testserver") -> Visitor:
    url = env.ok(env.post(f"/v1/accounts/{account_id}/portal-sessions"), 201)["url"]
    client = TestClient(env.client.app, base_url=base_url)
    opened = client.get(url[url.index("/portal/"):], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal"
    page = client.get("/portal")
    assert page.status_code == 200
    return Visitor(client, CSRF_RE.search(page.text).group(1), client.cookies["langganan_portal"])  # type: ignore[union-attr]


@dataclass
class World:
    a: dict[str, Any]
    b: dict[str, Any]
    a_invoice: dict[str, Any]
    b_invoice: dict[str, Any]
    b_unpaid: dict[str, Any]
    b_item: str
    a_card: str
    b_card: str


def world(env: Env) -> World:
    """Two accounts on Growth with an add-on, a saved card and invoices (B also has one unpaid)."""
    out: dict[str, Any] = {}
    for name in ("a", "b"):
        acc = env.account(locale="en")
        paid = env.buy(acc["id"], "growth")
        env.pay_va(env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user",
                                                                         "quantity": 1}), 201))
        out[name], out[f"{name}_invoice"], out[f"{name}_card"] = acc, paid, env.card(acc["id"])
    out["b_unpaid"] = env.ok(env.post(f"/v1/accounts/{out['b']['id']}/top-ups",
                                      {"wallet": "conversation", "amount": 30000}), 201)
    out["b_item"] = env.subscription(out["b"]["id"])["add_ons"][0]["id"]
    return World(**out)


def b_state(env: Env, w: World) -> Any:
    with env.db.transaction() as s:
        payments = s.scalar(select(func.count()).select_from(Payment).where(Payment.account_id == w.b["id"]))
    return (env.subscription(w.b["id"]), env.ok(env.get(f"/v1/invoices?account_id={w.b['id']}&limit=100")),
            env.ok(env.get(f"/v1/accounts/{w.b['id']}/wallets")), env.ok(env.get(
                f"/v1/accounts/{w.b['id']}/payment-methods")), payments)


def test_another_accounts_ids_are_not_found_and_change_nothing(env: Env) -> None:
    w = world(env)
    a = portal_visitor(env, w.a["id"])
    before = b_state(env, w)
    secrets_of_b = [w.b_invoice["number"], w.b_unpaid["number"], w.b_invoice["id"], w.b_unpaid["payment"]["va_number"]]
    gets = [f"/portal/invoices/{w.b_invoice['id']}", f"/portal/invoices/{w.b_invoice['id']}/pdf",
            f"/portal/pay/{w.b_unpaid['id']}", f"/portal/pay/{w.b_unpaid['id']}/status"]
    posts: list[tuple[str, dict[str, str]]] = [
        (f"/portal/pay/{w.b_unpaid['id']}/bank-transfer", {"bank": "bni"}),
        (f"/portal/pay/{w.b_unpaid['id']}/card", {"payment_method_id": w.a_card}),
        (f"/portal/add-ons/{w.b_item}/stop", {}),
        ("/portal/cards", {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123",
                           "invoice_id": w.b_unpaid["id"]}),
    ]
    for path in gets:
        r = a.client.get(path)
        assert r.status_code == 404, path
        assert not any(s in r.text for s in secrets_of_b), path
    for path, form in posts:
        r = a.client.post(path, data={**form, "csrf_token": a.csrf}, follow_redirects=False)
        assert r.status_code == 404, path
        assert not any(s in r.text for s in secrets_of_b), path
    # B's card is not A's to pay with, even on A's own invoice
    a_unpaid = env.ok(env.post(f"/v1/accounts/{w.a['id']}/top-ups", {"wallet": "broadcast", "amount": 10000}), 201)
    r = a.client.post(f"/portal/pay/{a_unpaid['id']}/card", data={"payment_method_id": w.b_card,
                                                                   "csrf_token": a.csrf})
    assert r.status_code == 404
    assert env.ok(env.get(f"/v1/invoices/{a_unpaid['id']}"))["status"] == "unpaid"
    # lists show A's invoices only
    for path in ("/portal", "/portal/invoices", "/portal/balance/top-ups", "/portal/add-ons/manage"):
        r = a.client.get(path)
        assert r.status_code == 200 and w.b_invoice["number"] not in r.text and w.b_item not in r.text, path
    assert w.a_invoice["number"] in a.client.get("/portal/invoices").text
    assert b_state(env, w) == before


PORTAL_GETS = ["/portal", "/portal/upgrade", "/portal/add-ons", "/portal/add-ons/manage", "/portal/balance",
               "/portal/balance/top-up", "/portal/balance/history", "/portal/balance/top-ups", "/portal/invoices",
               "/portal/billing", "/portal/notifications", "/portal/invoices/{inv}", "/portal/invoices/{inv}/pdf",
               "/portal/pay/{inv}", "/portal/pay/{inv}/status"]
PORTAL_POSTS = ["/portal/upgrade", "/portal/renew", "/portal/unsubscribe", "/portal/add-ons",
                "/portal/add-ons/{item}/stop", "/portal/billing", "/portal/balance/top-up",
                "/portal/pay/{inv}/bank-transfer", "/portal/pay/{inv}/card", "/portal/cards", "/portal/logout"]


def test_without_a_session_every_portal_route_is_401(env: Env) -> None:
    w = world(env)
    anonymous = TestClient(env.client.app)
    for path in PORTAL_GETS:
        r = anonymous.get(path.format(inv=w.a_invoice["id"], item=w.b_item))
        assert r.status_code == 401 and "text/html" in r.headers["content-type"], path
        assert w.a_invoice["number"] not in r.text
    before = b_state(env, w)
    for path in PORTAL_POSTS:
        r = anonymous.post(path.format(inv=w.b_unpaid["id"], item=w.b_item), data={"plan": "pro", "amount": "50000"})
        assert r.status_code == 401, path
    assert b_state(env, w) == before


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_every_portal_form_needs_its_csrf_token(env: Env, token: str | None) -> None:
    w = world(env)
    b = portal_visitor(env, w.b["id"])
    before = b_state(env, w)
    form = {"plan": "pro", "interval": "month", "add_on": "additional_user", "quantity": "1", "wallet": "broadcast",
            "amount": "50000", "bank": "bni", "payment_method_id": w.b_card, "number": "4242424242424242",
            "exp_month": "12", "exp_year": "2030", "cvc": "123", **{k: "x" for k in ("company_name", "city")}}
    if token is not None:
        form["csrf_token"] = token
    for path in PORTAL_POSTS:
        r = b.client.post(path.format(inv=w.b_unpaid["id"], item=w.b_item), data=form, follow_redirects=False)
        assert r.status_code == 403, path
    # nor does another session's token work (it's per session), in the form or the htmx header
    other = portal_visitor(env, w.b["id"])
    r = b.client.post("/portal/unsubscribe", data={"csrf_token": other.csrf})
    assert r.status_code == 403
    r = b.client.post("/portal/unsubscribe", headers={"X-CSRF-Token": other.csrf})
    assert r.status_code == 403
    assert b_state(env, w) == before
    assert b.client.get("/portal").status_code == 200  # still signed in: logout needed its token too
    # the right token in the htmx header works
    r = b.client.post("/portal/unsubscribe", headers={"X-CSRF-Token": b.csrf}, follow_redirects=False)
    assert r.status_code == 303 and env.subscription(w.b["id"])["cancel_at_period_end"] is True


def test_session_cookie_flags_links_work_once_and_sessions_expire(env: Env) -> None:
    acc = env.account(locale="en")
    url = env.ok(env.post(f"/v1/accounts/{acc['id']}/portal-sessions"), 201)["url"]
    path = url[url.index("/portal/"):]
    client = TestClient(env.client.app, base_url="https://testserver")
    r = client.get(path, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie and "Path=/portal" in cookie
    token = client.cookies["langganan_portal"]
    page = client.get("/portal")
    assert page.status_code == 200 and token not in page.text and path.rsplit("/", 1)[1] not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    plain = TestClient(env.client.app).get(path, follow_redirects=False)  # second use of the link
    assert plain.status_code == 401
    r = TestClient(env.client.app).get(env.ok(env.post(f"/v1/accounts/{acc['id']}/portal-sessions"), 201)["url"]
                                       .replace("http://testserver", ""), follow_redirects=False)
    assert "Secure" not in r.headers["set-cookie"]  # plain HTTP in development
    assert TestClient(env.client.app).get("/portal/session/not-a-token").status_code == 401
    with env.db.transaction() as s:
        s.execute(update(WebSession).values(expires_at=wall_now() - timedelta(seconds=1)))
    assert client.get("/portal").status_code == 401


def test_portal_session_api_needs_a_key_and_a_real_account(env: Env) -> None:
    assert env.client.post("/v1/accounts/acc_nope/portal-sessions").status_code == 401
    r = env.post("/v1/accounts/acc_nope/portal-sessions")
    assert r.status_code == 404 and r.json()["error"]["code"] == "account_not_found"


def _console_login(env: Env, client: TestClient, email: str, password: str) -> Any:
    page = client.get("/console/login")
    token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    return client.post("/console/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


def test_console_needs_a_staff_login_and_a_csrf_token(env: Env) -> None:
    with env.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    acc = env.account(locale="en")
    unpaid = env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "broadcast", "amount": 10000}), 201)
    anonymous = TestClient(env.client.app)
    for path in ("/console", f"/console/accounts/{acc['id']}", "/console/invoices", "/console/events",
                 "/console/catalog", "/console/clock"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/login", path
    r = anonymous.post(f"/console/invoices/{unpaid['id']}/mark-paid", data={"reference": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    # a portal session is no console session
    portal = portal_visitor(env, acc["id"])
    assert portal.client.get("/console", follow_redirects=False).status_code == 303
    # login needs the login form's token
    r = anonymous.post("/console/login", data={"email": "ops@example.id", "password": "correct horse battery"})
    assert r.status_code == 403

    ops = TestClient(env.client.app)
    r = _console_login(env, ops, "ops@example.id", "correct horse battery")
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert "HttpOnly" in r.headers["set-cookie"] and "Path=/console" in r.headers["set-cookie"]
    home = ops.get("/console")
    assert home.status_code == 200 and acc["name"] in home.text
    csrf = CSRF_RE.search(home.text).group(1)  # type: ignore[union-attr]
    assert ops.get(f"/console/accounts/{acc['id']}").status_code == 200
    assert ops.get("/console/accounts/acc_nope").status_code == 404
    for bad in ({}, {"csrf_token": "forged"}):
        r = ops.post(f"/console/invoices/{unpaid['id']}/mark-paid", data={"reference": "BCA-1", **bad})
        assert r.status_code == 403
    assert env.ok(env.get(f"/v1/invoices/{unpaid['id']}"))["status"] == "unpaid"
    r = ops.post(f"/console/invoices/{unpaid['id']}/mark-paid", data={"reference": "BCA-1", "csrf_token": csrf},
                 follow_redirects=False)
    assert r.status_code == 303
    assert env.ok(env.get(f"/v1/invoices/{unpaid['id']}"))["status"] == "paid"
    assert env.wallet(acc["id"], "broadcast")["paid_balance"] == 10000
    r = ops.post(f"/console/invoices/{unpaid['id']}/mark-paid", data={"reference": "BCA-1", "csrf_token": csrf})
    assert r.status_code == 409  # confirmed once; a second confirmation changes nothing
    assert env.wallet(acc["id"], "broadcast")["paid_balance"] == 10000
    env.assert_books()


def test_console_sign_in_is_rate_limited_and_passwords_are_hashed(env: Env) -> None:
    with env.db.transaction() as s:
        user = staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
        assert user.password_hash.startswith("scrypt$") and "correct horse" not in user.password_hash
    client = TestClient(env.client.app)
    for _ in range(staff.MAX_FAILURES_PER_EMAIL):
        r = _console_login(env, client, "ops@example.id", "wrong password!")
        assert r.status_code == 401 and "The email or password is wrong." in r.text
    r = _console_login(env, client, "OPS@example.id", "correct horse battery")
    assert r.status_code == 429 and "langganan_console=" not in r.headers.get("set-cookie", "")
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == staff.MAX_FAILURES_PER_EMAIL
        s.execute(update(LoginAttempt).values(created_at=wall_now() - staff.WINDOW - timedelta(seconds=1)))
    assert _console_login(env, client, "ops@example.id", "correct horse battery").status_code == 303
