"""The console's sandbox outbox: the emails sent, as the recipient reads them; absent in live mode."""

from __future__ import annotations

from fastapi.testclient import TestClient

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from langganan.notifications.worker import run_notifications
from tests.api.test_portal_security import _console_login
from tests.conftest import Env


def test_the_outbox_shows_each_email_as_sent(env: Env) -> None:
    acc = env.account(locale="en", name="Toko Maju")
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]
    with env.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, "ops@example.id", "correct horse battery").status_code == 303
    listing = client.get("/console/emails")
    assert listing.status_code == 200 and f"Invoice {invoice['number']}: Rp499.000" in listing.text
    assert acc["email"] in listing.text
    href = listing.text.split('href="/console/emails/')[1].split('"')[0]
    email = client.get(f"/console/emails/{href}")
    assert email.status_code == 200
    assert "Hello Toko Maju," in email.text and invoice["payment"]["va_number"] in email.text
    assert client.get("/console/emails/dlv_nope").status_code == 404
    assert "Email yang dikirim" in client.get("/console/emails?lang=id").text
