"""The seed's Settings > Subscription flows, clicked through in Chromium. Each test asserts what the
person sees and the resulting state over the API; the final page is saved under tests/artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live

pytestmark = pytest.mark.browser


def invoices_of(live: Live, account_id: str, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return list(live.ok(live.get(f"/v1/invoices?account_id={account_id}&{query}"))["data"])


def open_portal(live: Live, page: Any, account_id: str) -> None:
    page.goto(live.portal_url(account_id))
    expect(page.get_by_role("heading", name="Subscription", exact=True)).to_be_visible()


def pay_by_transfer_and_wait(live: Live, page: Any, amount: int, bank: str = "bca") -> str:
    """On the payment page: get a virtual account, let the sandbox bank pay it, watch the page update."""
    page.get_by_label("Bank", exact=True).select_option(bank)
    page.get_by_role("button", name="Get virtual account number").click()
    va = page.get_by_test_id("va-number").inner_text()
    expect(page.get_by_text("This page updates by itself")).to_be_visible()
    outcome = live.ok(live.post("/v1/sandbox/bank-transfers", {"va_number": va, "amount": amount}))
    assert outcome["outcome"] == "applied"
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    return va


def add_card(page: Any, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill("2030")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Save card", exact=True).click()


def test_upgrade_paid_by_bank_transfer(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    open_portal(live, page, acc["id"])
    expect(page.get_by_test_id("plan-name")).to_have_text("Free")
    page.get_by_role("link", name="Upgrade Subscription").click()
    growth = page.locator("[data-plan=growth]")
    expect(growth).to_contain_text("Rp499,000")
    expect(growth).to_contain_text("Pay now: Rp499,000")
    growth.get_by_role("button", name="Choose Growth").click()
    dialog = page.get_by_test_id("choose-growth")
    expect(dialog.get_by_test_id("choose-amount")).to_have_text("Rp499,000")
    expect(dialog.get_by_test_id("choose-period")).to_have_text("15 Jan 2026 – 15 Feb 2026")
    dialog.get_by_role("button", name="Continue To Payment").click()
    expect(page.get_by_test_id("pay-amount")).to_have_text("Rp499,000")
    va = pay_by_transfer_and_wait(live, page, 499_000, bank="bni")
    page.get_by_role("link", name="Back to Subscription").click()
    expect(page.get_by_test_id("plan-name")).to_have_text("Growth")

    assert live.subscription(acc["id"])["plan"] == "growth"
    [invoice] = invoices_of(live, acc["id"])
    assert (invoice["status"], invoice["total"], invoice["payment"]["bank"], invoice["payment"]["va_number"]) == \
        ("paid", 499_000, "bni", va)
    live.assert_books()


def test_upgrade_paid_by_card_after_a_decline(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    live.buy(acc["id"], "growth")
    open_portal(live, page, acc["id"])
    page.get_by_role("link", name="Upgrade Subscription").click()
    pro = page.locator("[data-plan=pro]")
    expect(pro).to_contain_text("Pay now: Rp500,000")  # Rp999,000 less the unused Rp499,000 of Growth
    expect(page.locator("[data-plan=growth]")).to_contain_text("Your current plan")
    pro.get_by_role("button", name="Choose Pro").click()
    page.get_by_test_id("choose-pro").get_by_role("button", name="Continue To Payment").click()

    add_card(page, "4000000000000002")
    page.get_by_role("button", name="Pay Rp500,000", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("The card was declined.")
    assert live.subscription(acc["id"])["plan"] == "growth"

    add_card(page, "4242 4242 4242 4242")
    page.get_by_label("Visa •••• 4242").check()
    page.get_by_role("button", name="Pay Rp500,000", exact=True).click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()

    assert live.subscription(acc["id"])["plan"] == "pro"
    change = invoices_of(live, acc["id"], type="plan_change")[0]
    assert (change["status"], change["total"], change["payment"]["method"]) == ("paid", 500_000, "card")
    assert [ln["kind"] for ln in change["lines"]] == ["proration_credit", "proration_charge"]
    live.assert_books()


def test_renew_with_a_saved_card(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    live.buy(acc["id"], "growth")
    live.card(acc["id"])
    open_portal(live, page, acc["id"])
    page.get_by_role("button", name="Renew Subscription").click()
    dialog = page.locator("#renew-dialog")
    expect(dialog).to_contain_text("Renew Growth for the period starting 15 Feb 2026?")
    expect(dialog).to_contain_text("15 Feb 2026 – 15 Mar 2026")
    expect(dialog.get_by_test_id("renew-amount")).to_have_text("Rp499,000")
    dialog.get_by_role("button", name="Continue To Payment").click()
    expect(page.get_by_test_id("pay-amount")).to_have_text("Rp499,000")
    page.get_by_role("button", name="Pay Rp499,000", exact=True).click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()

    [renewal] = invoices_of(live, acc["id"], type="renewal")
    assert renewal["status"] == "paid" and renewal["period_start"].startswith("2026-02-15")
    live.advance(days=32)
    sub = live.subscription(acc["id"])
    assert (sub["plan"], sub["current_period_start"][:10]) == ("growth", "2026-02-15")


def test_buy_add_ons_with_plus_and_minus_then_pay(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    live.buy(acc["id"], "growth")
    open_portal(live, page, acc["id"])
    page.get_by_role("link", name="Buy Add-Ons").click()
    page.get_by_role("link", name="Add Additional User").click()
    summary = page.locator("#order-summary")
    expect(summary.get_by_test_id("order-total")).to_have_text("Rp50,000")
    summary.get_by_role("link", name="Increase quantity").click()
    expect(summary.locator("#quantity")).to_have_text("2")
    summary.get_by_role("link", name="Increase quantity").click()
    expect(summary.locator("#quantity")).to_have_text("3")
    summary.get_by_role("link", name="Decrease quantity").click()
    expect(summary.locator("#quantity")).to_have_text("2")
    expect(summary.get_by_test_id("order-total")).to_have_text("Rp100,000")
    summary.get_by_role("button", name="Continue To Payment").click()
    expect(page.get_by_test_id("pay-amount")).to_have_text("Rp100,000")
    pay_by_transfer_and_wait(live, page, 100_000)

    items = live.subscription(acc["id"])["add_ons"]
    assert [(i["add_on"], i["quantity"], i["status"]) for i in items] == [("additional_user", 2, "active")]
    limits = live.ok(live.get(f"/v1/accounts/{acc['id']}/entitlements"))["limits"]
    assert limits["users"]["limit"] == 12


def test_stop_an_add_on(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    live.buy(acc["id"], "growth")
    live.pay_va(live.ok(live.post(f"/v1/accounts/{acc['id']}/add-ons",
                                  {"add_on": "additional_contact", "quantity": 1}), 201))
    open_portal(live, page, acc["id"])
    page.get_by_role("link", name="Manage").click()
    row = page.locator("tr", has_text="Additional Contact")
    expect(row).to_contain_text("Renews on 15 Feb 2026")
    row.get_by_role("button", name="Stop Add-On").click()
    row.get_by_role("button", name="Yes, Stop").click()
    expect(page.get_by_role("status")).to_have_text("The add-on will stop at the end of the period.")
    expect(page.locator("tr", has_text="Additional Contact")).to_contain_text("Stopping")

    [item] = live.subscription(acc["id"])["add_ons"]
    assert item["status"] == "stopping" and item["ends_at"].startswith("2026-02-15")


def test_top_up_each_wallet_refusing_below_the_minimum(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    open_portal(live, page, acc["id"])
    page.locator("[data-wallet=conversation]").get_by_role("link", name="Top up").click()
    expect(page.get_by_text("Minimum top up: Rp30,000. Maximum top-up: Rp1,000,000.")).to_be_visible()
    amount = page.get_by_label("Amount to add to Conversation Balance (Rp)")
    amount.fill("5000")
    page.get_by_role("button", name="Continue To Payment").click()
    assert amount.evaluate("el => !el.validity.valid")  # the form itself refuses it
    assert invoices_of(live, acc["id"], type="top_up") == []
    amount.fill("50000")
    page.get_by_role("button", name="Continue To Payment").click()
    pay_by_transfer_and_wait(live, page, 50_000)

    page.goto(live.base_url + "/portal/balance/top-up?wallet=broadcast")
    page.locator("form[action='/portal/balance/top-up']").evaluate("f => f.noValidate = true")
    page.get_by_label("Amount to add to Broadcast Balance (Rp)").fill("5000")
    page.get_by_role("button", name="Continue To Payment").click()
    expect(page.get_by_role("alert")).to_have_text("The minimum top up is Rp10,000.")  # and so does the server
    assert invoices_of(live, acc["id"], type="top_up") != [] and len(invoices_of(live, acc["id"], type="top_up")) == 1
    page.get_by_label("Amount to add to Broadcast Balance (Rp)").fill("20000")
    page.get_by_role("button", name="Continue To Payment").click()
    add_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay Rp20,000", exact=True).click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()

    page.get_by_role("link", name="WhatsApp Balance").click()
    expect(page.locator("[data-wallet=conversation] dd").nth(1)).to_have_text("Rp50,000")
    expect(page.locator("[data-wallet=broadcast] dd").nth(1)).to_have_text("Rp20,000")
    assert (live.wallet(acc["id"])["paid_balance"], live.wallet(acc["id"], "broadcast")["paid_balance"]) == \
        (50_000, 20_000)
    live.assert_books()


def test_usage_history_in_both_languages(live: Live, page: Any) -> None:
    acc = live.account(locale="id")
    for i in range(3):
        live.ok(live.post("/v1/usage", {"id": f"reply-{i}", "account_id": acc["id"], "meter": "conversation_reply"}),
                201)
    open_page = live.portal_url(acc["id"])
    page.goto(open_page)
    expect(page.get_by_role("heading", name="Langganan", exact=True)).to_be_visible()
    page.locator("[data-wallet=conversation]").get_by_role("link", name="Riwayat Penggunaan").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Balasan percakapan")
    expect(rows.first).to_contain_text("-Rp30")
    expect(rows.first).to_contain_text("Rp14.910")
    expect(page.locator(".chart svg rect")).to_have_count(14)
    page.get_by_role("link", name="English").click()
    expect(rows.first).to_contain_text("Conversation reply")
    page.get_by_label("Activity").select_option("top_up")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No activity for these filters.")).to_be_visible()
    assert live.wallet(acc["id"])["balance"] == 15_000 - 90


def test_view_and_download_an_invoice(live: Live, page: Any, tmp_path: Any) -> None:
    from pypdf import PdfReader

    acc = live.account(locale="en")
    invoice = live.buy(acc["id"], "growth")
    open_portal(live, page, acc["id"])
    row = page.locator("table.invoices tr", has_text=invoice["number"])
    expect(row).to_contain_text("Subscription")
    expect(row).to_contain_text("Rp499,000")
    expect(row).to_contain_text("Paid")
    row.get_by_role("link", name="View Details").click()
    expect(page.get_by_role("heading", name=f"Invoice {invoice['number']}")).to_be_visible()
    expect(page.get_by_test_id("invoice-total")).to_have_text("Rp499,000")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    path = tmp_path / "invoice.pdf"
    info.value.save_as(path)
    assert info.value.suggested_filename == invoice["number"].replace("/", "-") + ".pdf"
    text = "".join(p.extract_text() for p in PdfReader(str(path)).pages)
    assert invoice["number"] in text and "Rp499,000" in text and "PAID" in text  # as the page writes it


def test_unsubscribe_with_confirmation(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    live.buy(acc["id"], "growth")
    open_portal(live, page, acc["id"])
    page.get_by_role("button", name="Unsubscribe").click()
    dialog = page.locator("#unsubscribe-dialog")
    expect(dialog).to_contain_text("Your plan stays until 15 Feb 2026")
    dialog.get_by_role("button", name="Yes, Unsubscribe").click()
    expect(page.get_by_role("status")).to_contain_text("You are unsubscribed.")
    expect(page.locator(".scheduled")).to_have_text("Unsubscribed: moves to Free on 15 Feb 2026.")

    sub = live.subscription(acc["id"])
    assert (sub["plan"], sub["cancel_at_period_end"]) == ("growth", True)
    live.advance(days=32)
    assert live.subscription(acc["id"])["plan"] == "free"


def test_notifications_feed_marks_everything_read(live: Live, page: Any) -> None:
    from langganan.notifications.worker import run_notifications

    acc = live.account(locale="en")
    live.top_up(acc["id"], "conversation", 50_000)
    run_notifications(live.db, live.client.app.state.ctx.courier)  # type: ignore[attr-defined]
    rows = len(live.ok(live.get(f"/v1/accounts/{acc['id']}/notifications?unread=true"))["data"])
    open_portal(live, page, acc["id"])
    page.get_by_role("link", name="Notifications").click()
    unread = page.locator("li.unread")
    expect(unread.first).to_be_visible()
    entries = unread.count()
    assert 2 <= entries < rows  # one entry per happening: the top-up's invoice, payment and credit are one
    expect(page.get_by_test_id("unread-count")).to_have_text(str(entries))
    expect(unread.first).to_contain_text("Rp50,000 was added to your Conversation Balance; it is now Rp65,000.")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("status")).to_have_text("Notifications marked read.")
    expect(page.locator("li.unread")).to_have_count(0)
    expect(page.get_by_test_id("unread-count")).to_have_count(0)
    assert live.ok(live.get(f"/v1/accounts/{acc['id']}/notifications?unread=true"))["data"] == []


def test_upgrade_paid_by_scanning_a_qris_code(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    open_portal(live, page, acc["id"])
    page.get_by_role("link", name="Upgrade Subscription").click()
    page.locator("[data-plan=growth]").get_by_role("button", name="Choose Growth").click()
    page.get_by_test_id("choose-growth").get_by_role("button", name="Continue To Payment").click()
    page.get_by_role("button", name="Show QR code").click()
    code = page.get_by_test_id("qris-code")
    expect(code).to_be_visible()
    assert code.locator("svg path").count() >= 1  # drawn inline, no image request
    expect(page.get_by_text("This page updates by itself")).to_be_visible()
    invoice = invoices_of(live, acc["id"], status="unpaid")[0]
    payment = invoice["payment"]
    assert payment["method"] == "qris" and payment["qr_string"].startswith("000201")
    outcome = live.ok(live.post("/v1/sandbox/qris-payments", {"payment_id": payment["id"], "amount": invoice["total"]}))
    assert outcome["outcome"] == "applied"
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    assert live.subscription(acc["id"])["plan"] == "growth"


def test_cards_and_auto_renew_on_the_payment_page(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    open_portal(live, page, acc["id"])
    page.get_by_role("link", name="Payment", exact=True).click()
    expect(page.get_by_test_id("auto-renew-state")).to_contain_text("Auto-renew is off")
    expect(page.get_by_text("You have no saved cards.")).to_be_visible()
    add_card(page, "4242424242424242")
    expect(page.get_by_text("The card was saved.")).to_be_visible()
    add_card(page, "5555555555554444")
    cards = page.locator(".saved-card")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="4242")).to_contain_text("Default")
    cards.filter(has_text="4444").get_by_role("button", name="Make default").click()
    expect(page.locator(".saved-card").filter(has_text="4444")).to_contain_text("Default")
    # Auto-renew on with the Mastercard; then that card cannot be removed until auto-renew moves off it.
    live.buy(acc["id"], "growth")
    page.reload()
    page.get_by_label("Card to charge").select_option(label="Mastercard •••• 4444")
    page.get_by_role("button", name="Turn auto-renew on").click()
    expect(page.get_by_test_id("auto-renew-state")).to_contain_text("Mastercard •••• 4444 is charged")
    page.locator(".saved-card").filter(has_text="4444").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("alert")).to_contain_text("Auto-renew charges this card")
    expect(page.locator(".saved-card")).to_have_count(2)
    page.get_by_role("button", name="Turn auto-renew off").click()
    page.locator(".saved-card").filter(has_text="4444").get_by_role("button", name="Remove").click()
    expect(page.get_by_text("The card was removed.")).to_be_visible()
    expect(page.locator(".saved-card")).to_have_count(1)
    methods = live.ok(live.get(f"/v1/accounts/{acc['id']}/payment-methods"))["data"]
    assert [(m["last4"], m["default"]) for m in methods] == [("4242", True)]
    assert live.subscription(acc["id"])["auto_renew"] is False


def test_a_past_due_renewal_says_why_and_is_paid_with_a_new_card_in_one_step(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    good = live.card(acc["id"])
    live.ok(live.post(f"/v1/accounts/{acc['id']}/subscription/change",
                      {"plan": "growth", "payment_method": "card", "payment_method_id": good}))
    declining = live.card(acc["id"], "4000000000000002")
    live.ok(live.post(f"/v1/accounts/{acc['id']}/subscription/auto-renew",
                      {"enabled": True, "payment_method_id": declining}))
    end = live.subscription(acc["id"])["current_period_end"]
    live.advance(to=end)
    assert live.subscription(acc["id"])["status"] == "past_due"
    open_portal(live, page, acc["id"])
    box = page.get_by_test_id("past-due")
    expect(box).to_contain_text("The card payment failed: The card was declined.")
    expect(box).to_contain_text("We will try your card again on")
    expect(box).to_contain_text("moves to the Free plan")
    box.get_by_role("link", name="Pay now with another card or by transfer").click()
    page.get_by_label("Card number").fill("5555555555554444")
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill("2030")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Save card and pay").click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    sub = live.subscription(acc["id"])
    assert sub["status"] == "active" and sub["current_period_end"] > end
