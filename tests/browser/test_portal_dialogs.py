"""The portal's confirmation dialogs and the payment-received state, clicked through in Chromium in both
languages: what the Upgrade and Renew dialogs charge for which period, what a purchase does to a running trial,
the Subscription page's renewal statement, and the payment forms leaving once the money is in. Each dialog is
saved as a screenshot under tests/artifacts/ (beside the final page the fixture saves)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, Live

pytestmark = pytest.mark.browser

WORDS = {
    "en": {"subscription": "Subscription", "upgrade": "Upgrade Subscription", "choose": "Choose Growth",
           "continue": "Continue To Payment", "bank": "Bank", "get_va": "Get virtual account number",
           "received": "Payment received", "renew": "Renew Subscription", "cancel": "Cancel",
           "amount": "Rp499,000", "credit": "Rp15,000", "period": "15 Jan 2026 – 15 Feb 2026",
           "trial": "Your free trial ends when this payment arrives",
           "next": "15 Feb 2026 – 15 Mar 2026", "auto": "Auto-renew is on: on 15 Feb 2026, Rp499,000",
           "card": "Visa •••• 4242 (expires 12/2030)", "back": "Back to Subscription"},
    "id": {"subscription": "Langganan", "upgrade": "Upgrade Langganan", "choose": "Pilih Growth",
           "continue": "Lanjut ke Pembayaran", "bank": "Bank", "get_va": "Dapatkan nomor virtual account",
           "received": "Pembayaran diterima", "renew": "Perpanjang Langganan", "cancel": "Batal",
           "amount": "Rp499.000", "credit": "Rp15.000", "period": "15 Jan 2026 – 15 Feb 2026",
           "trial": "Uji coba gratis Anda berakhir saat pembayaran ini masuk",
           "next": "15 Feb 2026 – 15 Mar 2026", "auto": "Perpanjangan otomatis aktif: pada 15 Feb 2026, Rp499.000",
           "card": "Visa •••• 4242 (berlaku sampai 12/2030)", "back": "Kembali ke Langganan"},
}


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_portal(live: Live, page: Any, account_id: str, lang: str) -> None:
    page.goto(live.portal_url(account_id))
    page.goto(f"{live.base_url}/portal?lang={lang}")
    expect(page.get_by_role("heading", name=WORDS[lang]["subscription"], exact=True)).to_be_visible()


@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_trial_upgrade_says_what_it_costs_and_ends_then_the_payment_forms_leave(live: Live, page: Any,
                                                                                   lang: str) -> None:
    w = WORDS[lang]
    acc = live.account(locale=lang, start_trial=True)
    open_portal(live, page, acc["id"], lang)
    page.get_by_role("link", name=w["upgrade"]).click()
    page.locator("[data-plan=growth]").get_by_role("button", name=w["choose"]).click()
    dialog = page.get_by_test_id("choose-growth")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("choose-amount")).to_have_text(w["amount"])
    expect(dialog.get_by_test_id("choose-period")).to_have_text(w["period"])
    note = dialog.get_by_test_id("trial-note")
    expect(note).to_contain_text(w["trial"])
    expect(note).to_contain_text(w["credit"])
    shot(page, f"portal-trial-upgrade-dialog-{lang}")
    dialog.get_by_role("button", name=w["continue"]).click()

    forms = page.get_by_test_id("pay-forms")
    expect(forms).to_be_visible()
    page.get_by_label(w["bank"], exact=True).select_option("bca")
    page.get_by_role("button", name=w["get_va"]).click()
    va = page.get_by_test_id("va-number").inner_text()
    expect(forms).to_be_visible()  # waiting for the transfer: the other ways to pay stay
    assert live.ok(live.post("/v1/sandbox/bank-transfers", {"va_number": va, "amount": 499_000}))["outcome"] == \
        "applied"
    expect(page.get_by_role("heading", name=w["received"])).to_be_visible()
    expect(page.get_by_test_id("pay-forms")).to_have_count(0)  # no card, transfer or QRIS form left to pay again
    expect(page.get_by_role("button", name=w["get_va"])).to_have_count(0)
    shot(page, f"portal-payment-received-{lang}")
    page.get_by_role("link", name=w["back"]).click()
    expect(page.get_by_test_id("plan-name")).to_have_text("Growth")

    sub = live.subscription(acc["id"])
    assert (sub["plan"], sub["status"], sub["current_period_end"][:10]) == ("growth", "active", "2026-02-15")
    assert live.wallet(acc["id"])["granted_balance"] == 30_000  # the trial's Rp15.000 replaced, as the dialog said


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_renew_dialog_and_the_auto_renew_statement(live: Live, page: Any, lang: str) -> None:
    w = WORDS[lang]
    acc = live.account(locale=lang)
    card = live.card(acc["id"])
    live.ok(live.post(f"/v1/accounts/{acc['id']}/subscription/change",
                      {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
    open_portal(live, page, acc["id"], lang)
    note = page.get_by_test_id("renewal-note")
    expect(note).to_contain_text(w["auto"])
    expect(note).to_contain_text(w["card"])
    page.get_by_role("button", name=w["renew"]).click()
    dialog = page.locator("#renew-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("renew-facts")).to_contain_text(w["next"])
    expect(dialog.get_by_test_id("renew-amount")).to_have_text(w["amount"])
    shot(page, f"portal-renew-dialog-{lang}")
    dialog.get_by_role("button", name=w["cancel"]).click()
    expect(dialog).to_be_hidden()
    assert [i for i in live.ok(live.get(f"/v1/invoices?account_id={acc['id']}&type=renewal"))["data"]] == []


def test_plus_and_minus_are_drawn_without_a_font(live: Live, page: Any) -> None:
    acc = live.account(locale="en")
    live.buy(acc["id"], "growth")
    page.goto(live.portal_url(acc["id"]))
    page.goto(f"{live.base_url}/portal/add-ons?add_on=additional_user&quantity=2")
    for testid, bars in (("increase", 2), ("decrease", 1)):
        button = page.get_by_test_id(testid)
        assert button.inner_text().strip() == ""  # no glyph at all: two CSS bars make the sign
        drawn = button.locator(".sign").evaluate(
            "el => ['::before', '::after'].filter(p => getComputedStyle(el, p).content !== 'none'"
            " && getComputedStyle(el, p).width === '14px').length")
        assert drawn == bars, testid
    page.get_by_test_id("increase").click()
    expect(page.locator("#quantity")).to_have_text("3")
    expect(page.get_by_test_id("order-total")).to_contain_text("Rp")
