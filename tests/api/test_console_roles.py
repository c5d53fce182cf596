"""Staff roles enforced route by route, on SQLite and PostgreSQL. ROUTES decides, for every console route, the
permission it needs (None: no sign-in at all); a route registered under /console and missing from it fails the
first test, so a new route cannot be added without that decision. Then each role signs in and requests every
route, with real ids where a page shows a row and the session's CSRF token on every form, so only the role
decides: a route its role does not grant answers 403 with the "forbidden" page, every other route answers
something else. Forms are sent with a body their handler refuses, or name a row that does not exist, so a
request the role allows changes nothing and the next ones see the same data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from langganan.console.roles import GRANTS, Permission, StaffRole
from langganan.notifications import attachments
from langganan.notifications.models import Channel, Delivery
from langganan.notifications.worker import run_notifications
from tests.api.console_staff import signed_in
from tests.api.test_unapplied_money import _overpaid
from tests.conftest import Env

READ, ACCOUNTS, MONEY, SETTINGS = Permission.READ, Permission.ACCOUNTS, Permission.MONEY, Permission.SETTINGS
FORBIDDEN = "Your staff role may not do this"
STATEMENT = Path(__file__).resolve().parents[1] / "fixtures" / "statements" / "bca_personal.csv"

# (method, path template) -> the permission the route needs; None: open to anyone (signing in).
ROUTES: dict[tuple[str, str], Permission | None] = {
    ("GET", "/console/login"): None,
    ("POST", "/console/login"): None,
    ("POST", "/console/logout"): READ,  # any signed-in staff user
    ("GET", "/console"): READ,
    ("GET", "/console/accounts/{account_id}"): READ,
    ("GET", "/console/invoices"): READ,
    ("GET", "/console/invoices/{invoice_id}"): READ,
    ("POST", "/console/invoices/{invoice_id}/mark-paid"): MONEY,
    ("POST", "/console/invoices/{invoice_id}/credit-notes"): MONEY,
    ("GET", "/console/events"): READ,
    ("GET", "/console/catalog"): READ,
    ("GET", "/console/promotions"): READ,
    ("POST", "/console/promotions"): SETTINGS,
    ("GET", "/console/promotions/{promotion_id}"): READ,
    ("GET", "/console/webhooks"): READ,
    ("POST", "/console/webhooks"): SETTINGS,
    ("GET", "/console/webhooks/{endpoint_id}"): READ,
    ("POST", "/console/webhooks/{endpoint_id}/disable"): SETTINGS,
    ("GET", "/console/statements"): READ,
    ("POST", "/console/statements"): MONEY,
    ("GET", "/console/statements/{statement_id}"): READ,
    ("POST", "/console/statements/{statement_id}/lines/{line}/assign"): MONEY,
    ("GET", "/console/unapplied"): READ,
    ("POST", "/console/unapplied/{held_id}/apply"): MONEY,
    ("POST", "/console/unapplied/{held_id}/credit"): MONEY,
    ("POST", "/console/unapplied/{held_id}/refund"): MONEY,
    ("GET", "/console/revenue"): READ,
    ("GET", "/console/exports"): MONEY,
    ("GET", "/console/exports/{kind}.csv"): MONEY,
    ("GET", "/console/audit"): READ,
    ("GET", "/console/api-keys"): SETTINGS,
    ("POST", "/console/api-keys"): SETTINGS,
    ("POST", "/console/api-keys/{key_id}/revoke"): SETTINGS,
    ("POST", "/console/api-keys/{key_id}/rotate"): SETTINGS,
    ("GET", "/console/staff"): SETTINGS,
    ("POST", "/console/staff"): SETTINGS,
    ("POST", "/console/staff/{staff_id}/role"): SETTINGS,
    ("POST", "/console/staff/{staff_id}/disable"): SETTINGS,
    ("POST", "/console/staff/{staff_id}/enable"): SETTINGS,
    ("GET", "/console/clock"): READ,
    ("POST", "/console/clock"): SETTINGS,
    ("GET", "/console/emails"): READ,
    ("GET", "/console/emails/{delivery_id}"): READ,
    ("GET", "/console/emails/{delivery_id}/html"): READ,
    ("GET", "/console/emails/{delivery_id}/attachments/{filename}"): READ,
    ("GET", "/console/tax"): MONEY,
    ("GET", "/console/tax/coretax-{month}-part{part}.xml"): MONEY,
    ("GET", "/console/tax/returns-{month}.csv"): MONEY,
    ("POST", "/console/tax/numbers"): MONEY,
    ("GET", "/console/accounts/{account_id}/actions/{action}"): ACCOUNTS,  # (the action shown: extend-trial)
    ("POST", "/console/accounts/{account_id}/actions/extend-trial"): ACCOUNTS,
    ("POST", "/console/accounts/{account_id}/actions/change-plan"): ACCOUNTS,
    ("POST", "/console/accounts/{account_id}/actions/cancel"): ACCOUNTS,
    ("POST", "/console/accounts/{account_id}/actions/undo-cancel"): ACCOUNTS,
    ("POST", "/console/accounts/{account_id}/actions/resend-invoice"): ACCOUNTS,
    ("POST", "/console/accounts/{account_id}/actions/free-period"): MONEY,
    ("POST", "/console/accounts/{account_id}/actions/adjust-wallet"): MONEY,
    ("POST", "/console/accounts/{account_id}/actions/view-portal"): READ,
}


def console_routes(env: Env) -> set[tuple[str, str]]:
    return {(method, r.path) for r in iter_route_contexts(env.client.app.routes)  # type: ignore[attr-defined]
            if isinstance(r.original_route, APIRoute) and r.path.startswith("/console")
            for method in r.methods}


def test_every_console_route_has_a_decided_permission(env: Env) -> None:
    served = console_routes(env)
    assert served - ROUTES.keys() == set(), "console routes without a decision in ROUTES"
    assert ROUTES.keys() - served == set(), "ROUTES names routes that do not exist"


def seed(env: Env) -> dict[str, str]:
    """A row of every kind a console path names (what a GET shows; forms get a body their handler refuses)."""
    acc, held = _overpaid(env, 10_000)
    [paid] = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&status=paid"))["data"]
    promo = env.ok(env.post("/v1/promotions", {"code": "ROLES10", "percent_off": 10, "plans": ["growth"],
                                               "duration_months": 1}), 201)
    hook = env.ok(env.post("/v1/webhook-endpoints", {"url": "https://hooks.example.id/in", "events": ["*"]}), 201)
    statement = env.client.post("/v1/bank-statements?format=bca", content=STATEMENT.read_bytes(),
                                headers={**env.headers, "Content-Type": "text/csv"})
    assert statement.status_code == 201, statement.text
    key = env.ok(env.post("/v1/api-keys", {"name": "victim", "role": "integration"}), 201)
    run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]
    with env.db.transaction() as s:
        email = s.scalars(select(Delivery.id).where(Delivery.channel == Channel.EMAIL,
                                                    Delivery.attach_invoice.is_(True))).first()
        assert email is not None
        pdf = attachments.invoice_pdf(s, s.get(Delivery, email).invoice_id)  # type: ignore[union-attr,arg-type]
        assert pdf is not None
    victim = signed_in(env, "read_only", "victim@example.id")
    return {"account_id": acc["id"], "invoice_id": paid["id"], "promotion_id": promo["id"],
            "endpoint_id": hook["id"], "statement_id": statement.json()["id"], "line": "1", "held_id": held["id"],
            "kind": "invoices", "key_id": key["id"], "staff_id": victim.id, "delivery_id": email,
            "filename": pdf.filename, "month": "2026-01", "part": "1", "action": "extend-trial"}


# What each form is sent (besides the CSRF token): refused by its handler, so that an allowed request changes
# nothing; a path id that names nothing (404) where the form has nothing to refuse.
FORMS: dict[str, dict[str, str]] = {
    "/console/invoices/{invoice_id}/mark-paid": {"reference": ""},
    "/console/invoices/{invoice_id}/credit-notes": {"amount": "lots", "reason": "r", "refund_to": "manual"},
    "/console/promotions": {"code": "x"},
    "/console/webhooks": {"url": "not a url"},
    "/console/statements": {"format": "bca"},
    "/console/statements/{statement_id}/lines/{line}/assign": {"invoice": ""},
    "/console/unapplied/{held_id}/apply": {"invoice": "", "reason": ""},
    "/console/unapplied/{held_id}/credit": {"wallet": "conversation", "reason": ""},
    "/console/unapplied/{held_id}/refund": {"method": "manual", "reason": ""},
    "/console/api-keys": {"name": "", "role": "admin"},
    "/console/api-keys/{key_id}/rotate": {"overlap": "never"},
    "/console/staff": {"email": "not an email", "role": "owner"},
    "/console/staff/{staff_id}/role": {"role": "emperor"},
    "/console/clock": {"days": "0", "hours": "0"},
    "/console/tax/numbers": {},  # no file
    "/console/accounts/{account_id}/actions/extend-trial": {"days": "0", "reason": ""},
    "/console/accounts/{account_id}/actions/change-plan": {"plan": "emperor", "reason": ""},
    "/console/accounts/{account_id}/actions/cancel": {"reason": ""},
    "/console/accounts/{account_id}/actions/undo-cancel": {"reason": ""},
    "/console/accounts/{account_id}/actions/resend-invoice": {"invoice": "", "reason": ""},
    "/console/accounts/{account_id}/actions/free-period": {"days": "0", "reason": ""},
    "/console/accounts/{account_id}/actions/adjust-wallet": {"amount": "lots", "reason": ""},
    "/console/accounts/{account_id}/actions/view-portal": {"reason": ""},
    "/console/login": {},
}
NOTHING = {"/console/webhooks/{endpoint_id}/disable", "/console/api-keys/{key_id}/revoke",
           "/console/staff/{staff_id}/disable", "/console/staff/{staff_id}/enable"}


def url(template: str, ids: dict[str, str], nothing: bool) -> str:
    path = template
    for name, value in ids.items():
        path = path.replace("{" + name + "}", "nope_0" if nothing else value)
    assert "{" not in path, path
    return path


@pytest.mark.parametrize("role", list(StaffRole))
def test_each_role_reaches_exactly_the_routes_its_permissions_grant(env: Env, role: StaffRole) -> None:
    ids = seed(env)
    me = signed_in(env, role.value)
    granted = GRANTS[role]
    asked: list[tuple[str, str, int]] = []
    for (method, template), needs in sorted(ROUTES.items(), key=lambda item: item[0][1] == "/console/logout"):
        if needs is None:
            continue
        path = url(template, ids, template in NOTHING)
        response: Any = (me.client.get(path, follow_redirects=False) if method == "GET" else
                         me.post(path, FORMS.get(template, {}), follow_redirects=False))
        asked.append((method, template, response.status_code))
        if needs in granted:
            assert response.status_code != 403, (role, method, template, response.text[:300])
            if method == "GET":
                assert response.status_code == 200, (role, method, template, response.status_code)
        else:
            assert response.status_code == 403, (role, method, template, response.status_code)
            assert FORBIDDEN in response.text, (role, method, template)
    assert len(asked) == len([n for n in ROUTES.values() if n is not None])
    # what the allowed forms were sent changed nothing: the seeded rows are as they were
    assert env.ok(env.get(f"/v1/invoices/{ids['invoice_id']}"))["status"] == "paid"
    assert env.ok(env.get(f"/v1/api-keys/{ids['key_id']}"))["revoked_at"] is None
    assert env.ok(env.get(f"/v1/webhook-endpoints/{ids['endpoint_id']}"))["status"] == "enabled"
    held = env.ok(env.get(f"/v1/unapplied-payments?account_id={ids['account_id']}"))["data"]
    assert [h["status"] for h in held] == ["held"]


@pytest.mark.parametrize("role", list(StaffRole))
def test_the_navigation_shows_a_role_only_what_it_may_open(env: Env, role: StaffRole) -> None:
    me = signed_in(env, role.value)
    nav = me.client.get("/console").text.split("</nav>")[0]
    granted = GRANTS[role]
    for href, needs in (("/console/exports", MONEY), ("/console/api-keys", SETTINGS), ("/console/staff", SETTINGS),
                        ("/console/audit", READ), ("/console/invoices", READ)):
        assert (f'href="{href}"' in nav) == (needs in granted), (role, href)
