"""Auto top-up in the customer's hands, in Chromium, in English and in Bahasa Indonesia: turned on in the portal's
Payment page (threshold, target, monthly cap, card) and shown saved; usage takes the balance under the threshold
and the engine's due work recharges it, which the pages show (the new balance, the paid top-up invoice, what was
recharged this month); a declining card pauses it and the page says so in its language; edited, then turned off.
Each step's page is saved under tests/artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from langganan.web.i18n import translator
from tests.browser.conftest import ARTIFACTS, Live

pytestmark = pytest.mark.browser
AMOUNT = r"Rp\s?[\d.,]+"  # however the page formats rupiah


def shot(page: Any, lang: str, step: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal_auto_top_up_{lang}_{step}.png"), full_page=True)


def said(t: Any, key: str, *names: str) -> tuple[re.Pattern[str], list[str]]:
    """The message `key` as the page writes it, its amount placeholders matching any formatting of rupiah, and
    the placeholders in the order they appear (plain groups: the pattern also runs as a JavaScript RegExp)."""
    marked = t(key, **{name: f"@{name}@" for name in names})
    order = sorted(names, key=lambda name: marked.index(f"@{name}@"))
    text = re.escape(marked)
    for name in names:
        text = text.replace(re.escape(f"@{name}@"), f"({AMOUNT})")
    return re.compile("^" + text + "$"), order


def rupiah(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def amounts_in(page: Any, testid: str, said_: tuple[re.Pattern[str], list[str]]) -> dict[str, int]:
    pattern, order = said_
    locator = page.get_by_test_id(testid)
    expect(locator).to_have_text(pattern)
    found = pattern.match(locator.inner_text().strip())
    assert found, locator.inner_text()
    return {name: rupiah(value) for name, value in zip(order, found.groups(), strict=True)}


def spend(live: Live, account_id: str, rupiah_: int, tag: str) -> None:
    live.ok(live.post("/v1/usage", {"id": f"att-{account_id}-{tag}", "account_id": account_id,
                                    "meter": "conversation_reply", "quantity": rupiah_ // 30}), 201)


def top_ups(live: Live, account_id: str) -> list[dict[str, Any]]:
    return list(live.ok(live.get(f"/v1/invoices?account_id={account_id}&type=top_up"))["data"])


@pytest.mark.parametrize("lang", ["en", "id"])
def test_auto_top_up_in_the_portal(live: Live, page: Any, lang: str) -> None:
    t = translator(lang)
    acc = live.account(locale=lang, name="Toko Isi Ulang")
    good = live.card(acc["id"])  # the default card
    bad = live.card(acc["id"], "4000000000000002")  # a card the sandbox declines
    page.goto(live.portal_url(acc["id"]))
    page.goto(f"{live.base_url}/portal/payment?lang={lang}")
    form = page.locator("form.auto-top-up[data-wallet=conversation]")
    expect(page.get_by_test_id("att-state-conversation")).to_have_text(t("att.off"))

    # on: below Rp20.000 back up to Rp100.000, at most Rp150.000 a month, charged to the good card
    form.get_by_label(t("att.enable")).check()
    form.get_by_label(t("att.threshold")).fill("20000")
    form.get_by_label(t("att.target")).fill("100000")
    form.get_by_label(t("att.monthly_cap")).fill("150000")
    form.get_by_label(t("att.card")).select_option(good)
    form.get_by_role("button", name=t("att.save")).click()
    expect(page.get_by_role("status")).to_have_text(t("msg.auto_top_up_saved"))
    assert amounts_in(page, "att-state-conversation", said(t, "att.on", "threshold", "target")) == \
        {"threshold": 20_000, "target": 100_000}
    assert amounts_in(page, "att-usage-conversation", said(t, "att.cap_used", "used", "cap")) == \
        {"used": 0, "cap": 150_000}
    expect(form.get_by_label(t("att.card"))).to_have_value(good)
    shot(page, lang, "1_on")
    state = live.ok(live.get(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up"))
    assert (state["enabled"], state["threshold"], state["target"], state["monthly_cap"],
            state["payment_method_id"]) == (True, 20_000, 100_000, 150_000, good)

    # usage takes the balance (Free's Rp15.000 of credit) under the threshold; the due work recharges it
    spend(live, acc["id"], 9_000, "a")
    live.advance(hours=1)
    [invoice] = top_ups(live, acc["id"])
    assert (invoice["status"], invoice["total"]) == ("paid", 94_000)
    page.goto(f"{live.base_url}/portal/balance")
    expect(page.get_by_test_id("balance-conversation")).to_have_text(re.compile(AMOUNT))
    assert rupiah(page.get_by_test_id("balance-conversation").inner_text()) == 100_000
    shot(page, lang, "2_balance_recharged")
    page.goto(f"{live.base_url}/portal/invoices")
    row = page.locator(f"tr[data-invoice={invoice['id']}]")
    expect(row).to_contain_text(invoice["number"])
    expect(row).to_contain_text(t("type.top_up"))
    expect(row).to_contain_text(t("status.paid"))
    assert rupiah(row.locator("td.num").inner_text()) == 94_000
    page.goto(f"{live.base_url}/portal/payment")
    usage = page.get_by_test_id("att-usage-conversation")
    expect(usage).to_contain_text(t("att.last", date="").split(":")[0])
    assert rupiah(re.findall(AMOUNT, usage.inner_text())[0]) == 94_000  # recharged this month
    shot(page, lang, "3_payment_recharged")

    # the declining card: the next recharge is declined, auto top-up pauses and the page says so
    form.get_by_label(t("att.card")).select_option(bad)
    form.get_by_label(t("att.monthly_cap")).fill("")  # no cap
    form.get_by_role("button", name=t("att.save")).click()
    expect(page.get_by_role("status")).to_have_text(t("msg.auto_top_up_saved"))
    spend(live, acc["id"], 84_000, "b")  # Rp16.000 left
    live.advance(hours=2)
    page.goto(f"{live.base_url}/portal/payment")
    expect(page.get_by_test_id("att-state-conversation")).to_have_text(t("att.paused"))
    expect(form.get_by_label(t("att.enable"))).not_to_be_checked()
    shot(page, lang, "4_paused")
    assert live.wallet(acc["id"])["balance"] == 16_000
    assert [i["status"] for i in top_ups(live, acc["id"])] == ["unpaid", "paid"]  # the declined one stays unpaid
    assert live.ok(live.get(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up"))["paused"] is True

    # edited: the good card again and other amounts, which turns it back on; then turned off
    form.get_by_label(t("att.enable")).check()
    form.get_by_label(t("att.card")).select_option(good)
    form.get_by_label(t("att.threshold")).fill("10000")
    form.get_by_label(t("att.target")).fill("50000")
    form.get_by_role("button", name=t("att.save")).click()
    expect(page.get_by_role("status")).to_have_text(t("msg.auto_top_up_saved"))
    assert amounts_in(page, "att-state-conversation", said(t, "att.on", "threshold", "target")) == \
        {"threshold": 10_000, "target": 50_000}
    expect(page.get_by_test_id("att-usage-conversation")).to_contain_text(t("att.used", used=0).split(":")[0])
    form.get_by_label(t("att.enable")).uncheck()
    form.get_by_role("button", name=t("att.save")).click()
    expect(page.get_by_role("status")).to_have_text(t("msg.auto_top_up_saved"))
    expect(page.get_by_test_id("att-state-conversation")).to_have_text(t("att.off"))
    expect(page.get_by_test_id("att-usage-conversation")).to_have_count(0)
    shot(page, lang, "5_off")
    state = live.ok(live.get(f"/v1/accounts/{acc['id']}/wallets/conversation/auto-top-up"))
    assert (state["enabled"], state["threshold"], state["target"], state["payment_method_id"]) == \
        (False, 10_000, 50_000, good)
    live.advance(hours=2)  # off: no recharge, though the balance is under the old threshold
    assert len(top_ups(live, acc["id"])) == 2
    live.assert_books()
