"""Emails in Chromium: the console's outbox shows an email's HTML part in its sandboxed frame (inline styles
applied, under the frame's own policy), and the pay link of an email opens the portal on that invoice."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import expect

from langganan.notifications.mailer import SandboxMailer
from langganan.notifications.worker import run_notifications
from tests.browser.conftest import ARTIFACTS, Live
from tests.browser.test_console_flows import sign_in
from tests.notify_support import body_html, body_text

pytestmark = pytest.mark.browser


def _sent(live: Live) -> list[EmailMessage]:
    run_notifications(live.db, live.client.app.state.ctx.courier)  # type: ignore[attr-defined]
    mailer = live.client.app.state.ctx.courier.mailer  # type: ignore[attr-defined]
    assert isinstance(mailer, SandboxMailer)
    return list(mailer.sent)


def _invoice(live: Live, locale: str) -> dict[str, Any]:
    acc = live.account(locale=locale)
    change = live.ok(live.post(f"/v1/accounts/{acc['id']}/subscription/change",
                               {"plan": "growth", "payment_method": "bank_transfer"}))
    return dict(change["invoice"])


def test_the_outbox_renders_the_html_part_in_its_sandboxed_frame(live: Live, page: Any) -> None:
    invoice = _invoice(live, "en")
    _sent(live)
    sign_in(live, page)
    page.goto(live.base_url + "/console/emails")
    page.get_by_role("link", name=f"Invoice {invoice['number']} issued: Rp499,000").click()
    expect(page.get_by_test_id("email-attachments")).to_contain_text(invoice["number"].replace("/", "-") + ".pdf")
    frame = page.frame_locator("[data-testid=email-html]")
    button = frame.get_by_role("link", name=f"Pay invoice {invoice['number']} (Rp499,000)")
    expect(button).to_be_visible()  # the frame loaded with the staff session, and shows the email
    expect(frame.get_by_text(invoice["payment"]["va_number"])).to_be_visible()
    expect(button).to_have_css("color", "rgb(255, 255, 255)")  # its inline style applies (a link is blue)
    expect(frame.locator("td", has=button).last).to_have_css("background-color", "rgb(11, 94, 215)")
    page.get_by_test_id("email-html").scroll_into_view_if_needed()  # (a full-page screenshot leaves frames blank)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console_outbox_email_frame.png"))


@pytest.mark.parametrize("locale", ["en", "id"])
def test_the_pay_link_of_an_email_opens_the_portal_on_that_invoice(live: Live, page: Any, locale: str) -> None:
    invoice = _invoice(live, locale)
    (msg,) = _sent(live)
    # the email as the recipient's client draws it (kept as an artifact), then its pay link
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_content(body_html(msg))
    label, amount = {"en": ("Pay invoice", "Rp499,000"), "id": ("Bayar invoice", "Rp499.000")}[locale]
    expect(page.get_by_role("link", name=f"{label} {invoice['number']} ({amount})")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"email_invoice_issued_{locale}.png"), full_page=True)
    link = re.search(r"http://127\.0\.0\.1:8000(/portal/email-link/\S+)", body_text(msg))
    assert link is not None
    page.goto(live.base_url + link.group(1))
    page.get_by_role("button", name={"en": "Continue", "id": "Lanjutkan"}[locale]).click()
    expect(page).to_have_url(live.base_url + f"/portal/pay/{invoice['id']}")
    expect(page.get_by_text(invoice["payment"]["va_number"]).first).to_be_visible()
