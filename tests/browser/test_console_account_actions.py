"""The console's account actions in Chromium, in English and in Bahasa Indonesia: a staff user extends a trial,
changes a plan, cancels and undoes it, gives free time, adjusts a wallet (and sees a refused deduction), sends an
invoice's email again and opens the portal read-only. Each step's page is saved under tests/artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from langganan.kit.money import format_money
from langganan.notifications.worker import run_notifications
from langganan.wallets.rules import MAX_ADJUSTMENT
from langganan.web.i18n import translator
from tests.browser.conftest import ARTIFACTS, Live
from tests.browser.test_console_flows import sign_in

pytestmark = pytest.mark.browser


def shot(page: Any, lang: str, step: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console_account_actions_{lang}_{step}.png"), full_page=True)


def submit(page: Any, t: Any, action: str, reason: str = "Asked by the customer") -> None:
    page.get_by_label(t("con.act.reason")).fill(reason)
    page.get_by_label(t("con.act.confirm")).check()
    page.get_by_role("button", name=t("con.act.submit." + action)).click()


def open_action(page: Any, t: Any, action: str) -> None:
    page.get_by_role("link", name=t("con.act." + action), exact=True).click()
    expect(page.get_by_role("heading", name=t("con.act." + action), exact=True)).to_be_visible()


@pytest.mark.parametrize("lang", ["en", "id"])
def test_account_actions(live: Live, page: Any, lang: str) -> None:
    t = translator(lang)
    sign_in(live, page)
    trial = live.account(locale=lang, name="Toko Coba", start_trial=True)
    shop = live.account(locale=lang, name="Toko Maju")
    live.buy(shop["id"], "growth")
    run_notifications(live.db, live.client.app.state.ctx.courier)  # the invoice's email goes out

    # extend the trial
    page.goto(f"{live.base_url}/console/accounts/{trial['id']}?lang={lang}")
    open_action(page, t, "extend-trial")
    page.get_by_label(t("con.act.days_up_to", n=90)).fill("14")
    submit(page, t, "extend-trial")
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.extend-trial"))
    shot(page, lang, "1_trial_extended")
    assert live.subscription(trial["id"])["trial_end"] > "2026-02-28"

    # change the plan now: first what it will do (the invoice's amount and period), then the confirmation does
    # exactly that: an invoice, as the customer's own upgrade
    page.goto(f"{live.base_url}/console/accounts/{shop['id']}")
    expect(page.get_by_role("link", name=t("con.act.undo-cancel"), exact=True)).to_have_count(0)  # nothing to undo
    open_action(page, t, "change-plan")
    page.get_by_label(t("con.act.new_plan")).select_option("pro")
    page.get_by_label(t("con.act.when.now")).check()
    shot(page, lang, "2_change_plan_form")
    page.get_by_role("button", name=t("con.act.preview")).click()
    expect(page.get_by_role("heading", name=t("con.pv.title"))).to_be_visible()
    previewed = page.get_by_test_id("preview-amount").inner_text()
    expect(page.get_by_test_id("preview-period")).to_contain_text("2026")
    expect(page.get_by_test_id("preview-effects")).to_contain_text(t("con.pv.upgrade", current="Growth", plan="Pro",
                                                                     credit="@", end="@").split("@")[0])
    shot(page, lang, "2b_change_plan_preview")
    submit(page, t, "change-plan")
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.change-plan-invoiced"))
    invoices = live.ok(live.get(f"/v1/invoices?account_id={shop['id']}"))["data"]
    assert [i["type"] for i in invoices] == ["plan_change", "subscription"]
    assert int(re.sub(r"\D", "", previewed)) == invoices[0]["total"] == 500_000  # Pro less the unused Growth

    # cancel at period end, then undo it
    open_action(page, t, "cancel")
    submit(page, t, "cancel")
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.cancel"))
    shot(page, lang, "3_canceled")
    open_action(page, t, "undo-cancel")
    submit(page, t, "undo-cancel")
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.undo-cancel"))
    assert live.subscription(shop["id"])["cancel_at_period_end"] is False

    # free time: ten days
    open_action(page, t, "free-period")
    page.get_by_label(t("con.act.span.days")).check()
    page.get_by_label(t("con.act.days_up_to", n=365)).fill("10")
    submit(page, t, "free-period")
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.free-period"))
    assert live.subscription(shop["id"])["current_period_end"].startswith("2026-02-25")

    # adjust a wallet: a deduction beyond the balance is refused on the page, a grant goes through
    open_action(page, t, "adjust-wallet")
    page.get_by_label(t("con.act.wallet"), exact=True).select_option("conversation")
    page.get_by_label(t("con.act.direction.deduct")).check()
    page.get_by_label(t("con.act.amount", max=format_money(MAX_ADJUSTMENT, "IDR", lang))).fill("999.000")
    submit(page, t, "adjust-wallet")
    expect(page.get_by_role("alert")).to_have_text(t("con.act.error.amount_exceeds_balance"))
    shot(page, lang, "4_deduction_refused")
    page.get_by_label(t("con.act.direction.grant")).check()
    page.get_by_label(t("con.act.amount", max=format_money(MAX_ADJUSTMENT, "IDR", lang))).fill("50.000")
    page.get_by_label(t("con.act.confirm")).check()
    page.get_by_role("button", name=t("con.act.submit.adjust-wallet")).click()
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.adjust-wallet"))
    assert live.wallet(shop["id"])["paid_balance"] == 50_000

    # send the purchase invoice's email again
    open_action(page, t, "resend-invoice")
    expect(page.get_by_text("finance@tokomaju.id")).to_be_visible()
    submit(page, t, "resend-invoice")
    expect(page.get_by_role("status")).to_have_text(t("con.act.done.resend-invoice"))
    shot(page, lang, "5_email_resent")

    # the portal, read-only: its forms are disabled
    open_action(page, t, "view-portal")
    submit(page, t, "view-portal")
    expect(page.get_by_role("note")).to_have_text(t("con.staff_view.banner"))
    page.get_by_role("button", name=t("sub.unsubscribe")).click()
    expect(page.get_by_role("button", name=t("unsub.yes"))).to_be_disabled()
    shot(page, lang, "6_portal_read_only")
    page.goto(f"{live.base_url}/portal/balance/top-up")
    expect(page.get_by_role("button", name=t("common.continue_to_payment"))).to_be_disabled()
    assert live.subscription(shop["id"])["cancel_at_period_end"] is False
    live.assert_books()
