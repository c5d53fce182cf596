"""Issue 14, cards in the customer's hands: with LANGGANAN_GATEWAY=xendit or =midtrans the customer adds a card
through the gateway's hosted or tokenising flow, in Chromium, against the local fake gateway: Xendit's hosted
page (the fake's), or langganan's card page whose script registers the card with (fake) Midtrans. The card
then shows on the Payment page and pays an invoice; a canceled or refused entry keeps nothing. No request the
browser sends to langganan ever carries the card number."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from langganan.app import create_app, prepare
from tests.api.test_real_gateways import _settings
from tests.browser.conftest import Live, _require_browser
from tests.conftest import ADMIN_KEY, make_settings
from tests.gateways.driver import GOOD_CARD
from tests.gateways.midtrans_driver import MidtransDriver
from tests.gateways.xendit_driver import XenditDriver
from tests.served_support import serving, sqlite_copy

pytestmark = pytest.mark.browser


class GatewayLive(Live):
    driver: Any = None
    name: str = ""


@pytest.fixture(params=["xendit", "midtrans"])
def glive(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[GatewayLive]:
    """The browser tests' live server (a real uvicorn on loopback, SQLite), with the gateway built from the
    settings and pointed at the gateway's local fake; the engine clock starts at wall time."""
    _require_browser()
    name = request.param
    with (MidtransDriver() if name == "midtrans" else XenditDriver()) as driver:
        db = sqlite_copy(tmp_path, sqlite_template, "browser.db")
        settings = make_settings(db, **_settings(db, name, driver))
        prepare(settings, db, migrate_if_empty=False)
        app = create_app(settings, db)
        with serving(app) as url, TestClient(app) as client:
            env = GatewayLive(db=db, settings=settings, client=client,
                              headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            env.base_url, env.driver, env.name = url, driver, name
            yield env
        db.dispose()


def _watch_langganan(glive: GatewayLive, page: Any) -> list[str]:
    """Everything the browser sends to langganan (URLs and form bodies), to check no card number is in it."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.url} {r.post_data or ''}")
            if r.url.startswith(glive.base_url) else None)
    return sent


def _open_payment_page(glive: GatewayLive, page: Any, account_id: str) -> None:
    page.goto(glive.portal_url(account_id))
    expect(page.get_by_role("heading", name="Subscription", exact=True)).to_be_visible()
    page.get_by_role("link", name="Payment", exact=True).click()
    expect(page.get_by_role("heading", name="Payment", exact=True)).to_be_visible()


def _enter_card(glive: GatewayLive, page: Any, number: str) -> None:
    """On the page where the card is entered: the gateway's (Xendit) or langganan's talking to it (Midtrans)."""
    if glive.name == "xendit":
        page.wait_for_url(f"{glive.driver.fake.url}/checkout/**")
        page.get_by_label("Card number").fill(number)
        page.get_by_label("Expiry month").fill("12")
        page.get_by_label("Expiry year").fill("2030")
        page.get_by_label("CVN").fill("123")
    else:
        expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
        assert page.url.startswith(glive.base_url)
        page.get_by_label("Card number").fill(number)
        page.get_by_label("Expiry month").fill("12")
        page.get_by_label("Expiry year").fill("2030")
    page.get_by_role("button", name="Save card", exact=True).click()


def test_add_a_card_through_the_gateway_then_pay_with_it(glive: GatewayLive, page: Any) -> None:
    acc = glive.account(locale="en")
    sent = _watch_langganan(glive, page)
    _open_payment_page(glive, page, acc["id"])
    expect(page.get_by_text("You have no saved cards.")).to_be_visible()
    page.get_by_role("button", name="Add a card", exact=True).click()
    _enter_card(glive, page, GOOD_CARD)

    expect(page.get_by_role("status")).to_have_text("The card was saved.")
    card = page.locator(".saved-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Visa •••• 4242")
    expect(card).to_contain_text("expires 12/2030")
    expect(card).to_contain_text("Default")
    methods = glive.ok(glive.get(f"/v1/accounts/{acc['id']}/payment-methods"))["data"]
    assert [(m["last4"], m["exp_month"], m["exp_year"]) for m in methods] == [("4242", 12, 2030)]
    if glive.name == "midtrans":  # the number went to the gateway, from the browser
        assert glive.driver.fake.registrations[-1]["card_number"] == GOOD_CARD

    invoice = glive.ok(glive.post(f"/v1/accounts/{acc['id']}/subscription/change",
                                  {"plan": "growth", "payment_method": "bank_transfer", "bank": "bca"}))["invoice"]
    page.goto(f"{glive.base_url}/portal/pay/{invoice['id']}")
    expect(page.get_by_label("Visa •••• 4242 (12/2030)")).to_be_checked()
    page.get_by_role("button", name="Pay Rp499,000", exact=True).click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    assert glive.subscription(acc["id"])["plan"] == "growth"
    paid = glive.ok(glive.get(f"/v1/invoices/{invoice['id']}"))
    assert paid["status"] == "paid" and paid["payment"]["method"] == "card"
    assert sent and not any(GOOD_CARD in s or "4242 4242" in s for s in sent)
    glive.assert_books()


def test_a_canceled_or_refused_card_entry_keeps_nothing(glive: GatewayLive, page: Any) -> None:
    acc = glive.account(locale="en")
    _open_payment_page(glive, page, acc["id"])
    page.get_by_role("button", name="Add a card", exact=True).click()
    if glive.name == "xendit":
        _enter_card(glive, page, "4000000000000002")  # card verification on the gateway's page refuses it
        expect(page.get_by_role("alert")).to_contain_text("declined")
        page.get_by_role("link", name="Cancel").click()
        expect(page.get_by_role("status")).to_have_text(
            "No card was added: you canceled on the payment provider's page.")
    else:
        _enter_card(glive, page, "4242424242424241")  # Midtrans refuses a number that fails its check digit
        expect(page.get_by_role("alert")).to_have_text(
            "The payment provider did not accept the card. Check the number and expiry and try again.")
        page.get_by_role("link", name="Cancel").click()
        expect(page.get_by_role("heading", name="Payment", exact=True)).to_be_visible()
    expect(page.get_by_text("You have no saved cards.")).to_be_visible()
    assert glive.ok(glive.get(f"/v1/accounts/{acc['id']}/payment-methods"))["data"] == []
    assert "payment_method.created" not in glive.event_types(acc["id"])


def test_returning_without_entering_the_card_says_so(glive: GatewayLive, page: Any) -> None:
    """Back from the gateway with nothing saved (Xendit: its session is still open), or a setup that is not
    this account's: a clear message, nothing changes."""
    acc = glive.account(locale="en")
    _open_payment_page(glive, page, acc["id"])
    page.get_by_role("button", name="Add a card", exact=True).click()
    if glive.name == "xendit":
        page.wait_for_url(f"{glive.driver.fake.url}/checkout/**")
    with glive.db.engine.connect() as conn:
        setup = conn.exec_driver_sql("SELECT id FROM card_setups").scalar_one()
    page.goto(f"{glive.base_url}/portal/payment/cards/return?setup={setup}")
    # Xendit says its session is still open; Midtrans has nothing to ask: without the browser's token, no card.
    expect(page.get_by_role("alert")).to_have_text("No card was added: the card entry was not completed.")
    other = glive.account(locale="en")
    _open_payment_page(glive, page, other["id"])
    page.goto(f"{glive.base_url}/portal/payment/cards/return?setup={setup}")
    expect(page.get_by_text("There is no such card entry. Add the card again.")).to_be_visible()
    for account_id in (acc["id"], other["id"]):
        assert glive.ok(glive.get(f"/v1/accounts/{account_id}/payment-methods"))["data"] == []
