"""The operator console in Chromium: a staff user signs in and confirms a bank transfer by hand."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from tests.browser.conftest import Live

pytestmark = pytest.mark.browser


def test_console_confirms_a_bank_transfer(live: Live, page: Any) -> None:
    with live.db.transaction() as s:
        staff.create_staff(s, "ops@langganan.example", "Ops", "correct horse battery", wall_now())
    acc = live.account(locale="en")
    change = live.ok(live.post(f"/v1/accounts/{acc['id']}/subscription/change",
                               {"plan": "growth", "payment_method": "bank_transfer"}))
    number = change["invoice"]["number"]

    page.goto(live.base_url + "/console")
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.get_by_label("Email").fill("ops@langganan.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    page.get_by_role("link", name="Invoices").click()
    page.get_by_label("Status").select_option("unpaid")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tr", has_text=number)
    row.get_by_label("Bank reference").fill("BCA 2601150042")
    row.get_by_role("button", name="Confirm payment").click()
    expect(page.get_by_role("status")).to_have_text("Payment confirmed; the invoice is paid.")
    expect(page.locator("tr", has_text=number)).to_contain_text("paid")

    invoice = live.ok(live.get(f"/v1/invoices/{change['invoice']['id']}"))
    assert (invoice["status"], invoice["payment"]["method"]) == ("paid", "manual")
    assert live.subscription(acc["id"])["plan"] == "growth"
    live.assert_books()
