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


def sign_in(live: Live, page: Any) -> None:
    with live.db.transaction() as s:
        staff.create_staff(s, "ops@langganan.example", "Ops", "correct horse battery", wall_now())
    page.goto(live.base_url + "/console")
    page.get_by_label("Email").fill("ops@langganan.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()


def test_console_promotion_redeemed_over_the_api_shows_on_the_portal(live: Live, page: Any) -> None:
    sign_in(live, page)
    page.get_by_role("link", name="Promotions").click()
    page.get_by_label("Code").fill("spring20")
    page.get_by_label("Discount value").fill("20")
    page.get_by_label("Growth").check()
    page.get_by_label("Ends on (date)").fill("2027-03-31")
    page.get_by_label("Redemption limit (empty: no limit)").fill("100")
    page.get_by_role("button", name="Create promotion").click()
    expect(page.get_by_role("status")).to_have_text("Promotion SPRING20 created.")
    row = page.locator("tr", has_text="SPRING20")
    expect(row).to_contain_text("20% off")
    expect(row).to_contain_text("0 / 100")

    acc = live.account(locale="en", name="Toko Promo")
    live.ok(live.post(f"/v1/accounts/{acc['id']}/promotions", {"code": "SPRING20"}), 201)
    live.buy(acc["id"], "growth")
    [invoice] = live.ok(live.get(f"/v1/invoices?account_id={acc['id']}"))["data"]
    assert invoice["total"] == 499_000 - 99_800  # the plan line less 20%

    page.reload()
    expect(page.locator("tr", has_text="SPRING20")).to_contain_text("1 / 100")
    page.get_by_role("link", name="SPRING20").click()
    expect(page.locator("tr", has_text="Toko Promo")).to_contain_text("15 Jan 2026, 10:00")

    page.goto(live.portal_url(acc["id"]))
    expect(page.get_by_test_id("plan-name")).to_have_text("Growth")
    expect(page.locator(".promotion-note")).to_have_text("20% off until 31 Mar 2027 (SPRING20)")
    assert live.subscription(acc["id"])["promotion"]["code"] == "SPRING20"


def test_console_webhook_secret_shown_once_then_disabled(live: Live, page: Any) -> None:
    sign_in(live, page)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("http://127.0.0.1:1/hook")
    page.get_by_label("Events").fill("invoice.created")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_test_id("webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhook endpoints")).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("button", name="Disable http://127.0.0.1:1/hook").click()
    page.get_by_role("dialog").get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("Endpoint disabled")
    [endpoint] = live.ok(live.get("/v1/webhook-endpoints"))["data"]
    assert endpoint["status"] == "disabled"
