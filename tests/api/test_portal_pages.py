"""Portal pages over HTTP on both databases: language and time zone, what the forms refuse (and that
a refusal changes nothing), downgrade blocks, payment outcomes."""

from __future__ import annotations

from sqlalchemy import func, select

from langganan.payments.models import Payment
from tests.api.test_portal_security import portal_visitor
from tests.conftest import Env


def test_language_follows_the_account_then_the_switch(env: Env) -> None:
    acc = env.account(locale="id")
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal")
    assert '<html lang="id">' in page.text and "Ringkasan Penggunaan" in page.text and "Rp15.000" in page.text
    english = v.client.get("/portal?lang=en")
    assert "Usage Overview" in english.text and "lang=en" in english.headers["set-cookie"]
    assert "WhatsApp Balance" in v.client.get("/portal/balance").text  # the choice sticks
    assert "Saldo WhatsApp" in v.client.get("/portal/balance?lang=id").text


def test_dates_show_in_the_account_time_zone(env: Env) -> None:
    acc = env.account(locale="en", timezone="Asia/Jayapura")  # UTC+9; the engine clock is 03:00 UTC
    invoice = env.buy(acc["id"], "growth")
    v = portal_visitor(env, acc["id"])
    assert "<dd>15 Jan 2026, 12:00</dd>" in v.client.get(f"/portal/invoices/{invoice['id']}").text
    assert "15 Jan 2026 – 15 Feb 2026" in v.client.get("/portal").text


def test_top_up_amounts_outside_the_limits_are_refused_and_create_nothing(env: Env) -> None:
    acc = env.account(locale="en")
    v = portal_visitor(env, acc["id"])
    form = v.client.get("/portal/balance/top-up?wallet=broadcast").text
    assert 'min="10000"' in form and 'max="5000000"' in form
    for wallet, amount, code, message in (("conversation", "29999", 422, "The minimum top up is Rp30,000."),
                                          ("broadcast", "5000001", 422, "The maximum top-up is Rp5,000,000."),
                                          ("broadcast", "lots", 400, "Enter an amount in whole rupiah."),
                                          ("broadcast", "10.5", 400, "Enter an amount in whole rupiah.")):
        r = v.client.post("/portal/balance/top-up", data={"wallet": wallet, "amount": amount, "csrf_token": v.csrf})
        assert r.status_code == code and message in r.text
    assert v.client.post("/portal/balance/top-up", data={"wallet": "gold", "amount": "50000",
                                                         "csrf_token": v.csrf}).status_code == 404
    assert env.ok(env.get(f"/v1/invoices?account_id={acc['id']}"))["data"] == []
    r = v.client.post("/portal/balance/top-up", data={"wallet": "broadcast", "amount": "Rp10,000",  # as it is shown
                                                      "csrf_token": v.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/pay/inv_")
    assert [i["total"] for i in env.ok(env.get(f"/v1/invoices?account_id={acc['id']}"))["data"]] == [10_000]


def test_billing_information_is_validated_field_by_field(env: Env) -> None:
    acc = env.account(locale="en", billing=False)
    v = portal_visitor(env, acc["id"])
    assert "Complete your Billing Information before buying." in v.client.get("/portal/upgrade").text
    fields = {"company_name": "PT Maju", "contact_name": "Siti", "email": "not-an-email", "phone": "+62 21 5550101",
              "address": "Jl. Sudirman 1", "city": "Jakarta", "postal_code": "12190", "country": "ID"}
    r = v.client.post("/portal/billing", data={**fields, "csrf_token": v.csrf})
    assert r.status_code == 422 and 'aria-invalid="true" aria-describedby="e-email"' in r.text
    assert "Enter a valid email address." in r.text and 'value="PT Maju"' in r.text  # what was typed stays
    assert env.ok(env.get(f"/v1/accounts/{acc['id']}"))["billing_info_complete"] is False
    r = v.client.post("/portal/upgrade", data={"plan": "growth", "csrf_token": v.csrf})
    assert r.status_code == 409 and "Complete your Billing Information" in r.text
    r = v.client.post("/portal/billing", data={**fields, "email": "finance@maju.id", "csrf_token": v.csrf},
                      follow_redirects=False)
    assert r.status_code == 303
    assert env.ok(env.get(f"/v1/accounts/{acc['id']}"))["billing_info"]["email"] == "finance@maju.id"


def test_billing_information_takes_the_buyers_tax_identity(env: Env) -> None:
    acc = env.account(locale="id", billing=False)
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal/billing").text
    assert "Identitas pajak untuk PPN" in page and 'name="npwp"' in page
    fields = {"company_name": "PT Maju", "contact_name": "Siti", "email": "finance@maju.id", "phone": "+62 21 5550101",
              "address": "Jl. Sudirman 1", "city": "Jakarta", "postal_code": "12190", "country": "ID",
              "buyer_type": "business", "npwp": "12.345"}
    r = v.client.post("/portal/billing", data={**fields, "csrf_token": v.csrf})
    assert r.status_code == 422 and 'aria-describedby="e-npwp"' in r.text and "NPWP terdiri dari 15 atau 16" in r.text
    assert env.ok(env.get(f"/v1/accounts/{acc['id']}"))["billing_info_complete"] is False  # nothing saved
    r = v.client.post("/portal/billing", data={**fields, "npwp": "01.234.567.8-012.000", "csrf_token": v.csrf},
                      follow_redirects=False)
    assert r.status_code == 303
    info = env.ok(env.get(f"/v1/accounts/{acc['id']}"))["billing_info"]
    assert (info["buyer_type"], info["npwp"]) == ("business", "0012345678012000")  # 15 digits kept as 16
    again = v.client.get("/portal/billing").text
    assert 'value="0012345678012000"' in again and '<option value="business" selected>' in again


def test_upgrade_page_prices_the_change_and_names_what_blocks_a_downgrade(env: Env) -> None:
    acc = env.account(locale="en")
    env.buy(acc["id"], "growth")
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 8}))
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal/upgrade").text
    starter = page[page.index('data-plan="starter"'):page.index('data-plan="growth"')]
    assert "Takes effect on 15 Feb 2026." in starter and "over the limit:" in starter and "Users" in starter
    assert "Switch to Starter" not in starter
    pro = page[page.index('data-plan="pro"'):]
    assert "Pay now: Rp500,000" in pro
    yearly = v.client.get("/portal/upgrade?interval=year").text
    assert "Rp4,990,000" in yearly
    r = v.client.post("/portal/upgrade", data={"plan": "starter", "csrf_token": v.csrf})
    assert r.status_code == 409 and env.subscription(acc["id"])["pending_change"] is None
    assert v.client.post("/portal/upgrade", data={"plan": "free", "csrf_token": v.csrf}).status_code == 409
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"users": 1}))
    r = v.client.post("/portal/upgrade", data={"plan": "free", "csrf_token": v.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal?msg=downgrade_scheduled"
    assert env.subscription(acc["id"])["pending_change"]["plan"] == "free"
    assert "Changes to Free on 15 Feb 2026." in v.client.get("/portal").text


def test_a_declined_card_is_shown_and_recorded_and_the_invoice_stays_unpaid(env: Env) -> None:
    acc = env.account(locale="en")
    v = portal_visitor(env, acc["id"])
    r = v.client.post("/portal/upgrade", data={"plan": "growth", "csrf_token": v.csrf}, follow_redirects=False)
    invoice_id = r.headers["location"].rsplit("/", 1)[1]
    r = v.client.post("/portal/cards", data={"number": "4000 0000 0000 9995", "exp_month": "12", "exp_year": "2030",
                                             "cvc": "123", "invoice_id": invoice_id, "csrf_token": v.csrf})
    assert r.status_code == 200 and "Visa •••• 9995" in r.text
    card = env.ok(env.get(f"/v1/accounts/{acc['id']}/payment-methods"))["data"][0]["id"]
    r = v.client.post(f"/portal/pay/{invoice_id}/card", data={"payment_method_id": card, "csrf_token": v.csrf})
    assert r.status_code == 402 and "The card has insufficient funds." in r.text
    assert env.ok(env.get(f"/v1/invoices/{invoice_id}"))["status"] == "unpaid"
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Payment).where(Payment.status == "failed")) == 1
    r = v.client.post("/portal/cards", data={"number": "1234", "exp_month": "12", "exp_year": "2030", "cvc": "123",
                                             "invoice_id": invoice_id, "csrf_token": v.csrf})
    assert r.status_code == 422 and "Use one of the sandbox test cards." in r.text
    assert v.client.post("/portal/unsubscribe", data={"csrf_token": v.csrf}).status_code == 409  # still on Free
    assert env.subscription(acc["id"])["plan"] == "free"


def test_add_on_order_summary_prorates_and_free_accounts_are_told_to_upgrade(env: Env) -> None:
    acc = env.account(locale="en")
    v = portal_visitor(env, acc["id"])
    assert "Add-ons are bought on top of a paid plan" in v.client.get("/portal/add-ons").text
    env.buy(acc["id"], "growth")
    env.advance(days=10)  # 21 of 31 days left
    page = v.client.get("/portal/add-ons?add_on=additional_user&quantity=3").text
    assert f"Rp{round(50000 * 3 * 21 / 31):,}" in page  # English: Rp101,613
    r = v.client.post("/portal/add-ons", data={"add_on": "additional_user", "quantity": "3", "csrf_token": v.csrf},
                      follow_redirects=False)
    invoice = env.ok(env.get(f"/v1/invoices/{r.headers['location'].rsplit('/', 1)[1]}"))
    assert (invoice["type"], invoice["total"]) == ("add_on", round(50000 * 3 * 21 / 31))


def test_the_notifications_page_shows_the_feed_in_the_account_language(env: Env) -> None:
    from langganan.notifications.worker import run_notifications

    acc = env.account(locale="id")
    env.top_up(acc["id"], "conversation", 50000)
    run_notifications(env.db, env.client.app.state.ctx.courier)
    feed = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications"))["data"]
    assert feed, "the dispatcher should have filled the feed"
    page = portal_visitor(env, acc["id"]).client.get("/portal/notifications")
    assert page.status_code == 200
    # said again in the page's language from the event (tests/api/test_portal_feed.py has the rest)
    assert "Rp50.000 ditambahkan ke Saldo Percakapan Anda; sekarang Rp65.000." in page.text
    assert 'class="unread"' in page.text
