"""The console's sandbox outbox: the emails sent, as the recipient reads them (the HTML part rendered in a
sandboxed frame under its own strict policy, the text part, the attachments); absent in live mode."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from langganan.notifications.worker import run_notifications
from tests.api.test_portal_security import _console_login
from tests.conftest import BILLING, Env


def _ops(env: Env) -> TestClient:
    with env.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, "ops@example.id", "correct horse battery").status_code == 303
    return client


def test_the_outbox_shows_each_email_as_sent(env: Env) -> None:
    acc = env.account(locale="en", name="Toko Maju")
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]
    client = _ops(env)
    listing = client.get("/console/emails")
    assert listing.status_code == 200 and f"Invoice {invoice['number']} issued: Rp499,000" in listing.text
    assert BILLING["email"] in listing.text
    href = listing.text.split('href="/console/emails/')[1].split('"')[0]
    email = client.get(f"/console/emails/{href}")
    assert email.status_code == 200
    assert "Hello Siti Rahayu," in email.text and invoice["payment"]["va_number"] in email.text
    assert acc["email"] in email.text  # the owner in Cc
    # the HTML part: framed, sandboxed, from a route of its own
    frame = re.search(r'<iframe data-testid="email-html" src="([^"]+)" sandbox=""', email.text)
    assert frame is not None and frame.group(1) == f"/console/emails/{href}/html"
    part = client.get(frame.group(1))
    assert part.status_code == 200 and part.headers["content-type"].startswith("text/html")
    policy = part.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert "script-src" not in policy and invoice["payment"]["va_number"] in part.text
    assert '<html lang="en">' in part.text and "Pay invoice" in part.text
    # the pay link's one-time token is made when the email is sent: a placeholder here, in both parts
    assert "/portal/email-link/[one-time-token]" in email.text and "/portal/email-link/[one-time-token]" in part.text
    assert "%LANGGANAN" not in email.text + part.text
    # the attachment: listed, and served as the courier attaches it (the API's PDF of that invoice)
    filename = invoice["number"].replace("/", "-") + ".pdf"
    assert f'href="/console/emails/{href}/attachments/{filename}"' in email.text
    pdf = client.get(f"/console/emails/{href}/attachments/{filename}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == env.get(f"/v1/invoices/{invoice['id']}/pdf").content
    assert client.get(f"/console/emails/{href}/attachments/other.pdf").status_code == 404
    assert client.get("/console/emails/dlv_nope").status_code == 404
    assert client.get("/console/emails/dlv_nope/html").status_code == 404
    assert "Email yang dikirim" in client.get("/console/emails?lang=id").text
    assert "Lampiran" in client.get(f"/console/emails/{href}?lang=id").text
    anonymous = TestClient(env.client.app)
    for path in (f"/console/emails/{href}/html", f"/console/emails/{href}/attachments/{filename}"):
        assert anonymous.get(path, follow_redirects=False).status_code in (303, 401)


def test_an_email_without_attachments_says_so(env: Env) -> None:
    acc = env.account(locale="id")
    env.ok(env.post("/v1/usage", {"id": "u-1", "account_id": acc["id"], "meter": "conversation_reply",
                                  "quantity": 334}), 201)  # a low-balance alert: no invoice, no link
    run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]
    client = _ops(env)
    listing = client.get("/console/emails")
    href = listing.text.split('href="/console/emails/')[1].split('"')[0]
    page = client.get(f"/console/emails/{href}?lang=id")
    assert "Tidak ada lampiran." in page.text and "email-link" not in page.text
    assert "menipis" in client.get(f"/console/emails/{href}/html").text
