"""What the portal's Subscription, Upgrade and balance pages state, over HTTP on both databases: how the next
period is paid (auto-renew and its card, or a manual payment), what the Renew and Upgrade dialogs charge for
which period, what a purchase does to a running trial, balances without expired free credit, captured
broadcasts, and an empty spend chart."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select

from langganan.wallets.models import Wallet
from tests.api.test_portal_security import portal_visitor
from tests.conftest import Env


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def test_auto_renew_names_the_card_and_the_charge_in_both_languages(env: Env) -> None:
    acc = env.account(locale="en")
    card = env.card(acc["id"])
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": card}))
    v = portal_visitor(env, acc["id"])
    note = section(v.client.get("/portal").text, 'data-testid="renewal-note"', "</dd>")
    assert ("Auto-renew is on: on 15 Feb 2026, Rp499,000 for the next period (15 Feb 2026 – 15 Mar 2026) is "
            "charged to Visa •••• 4242 (expires 12/2030).") in " ".join(note.split())
    note = section(v.client.get("/portal?lang=id").text, 'data-testid="renewal-note"', "</dd>")
    assert ("Perpanjangan otomatis aktif: pada 15 Feb 2026, Rp499.000 untuk periode berikutnya (15 Feb 2026 – "
            "15 Mar 2026) ditagihkan ke Visa •••• 4242 (berlaku sampai 12/2030).") in " ".join(note.split())


def test_without_auto_renew_the_page_says_renewal_needs_a_manual_payment(env: Env) -> None:
    acc = env.account(locale="id")
    env.buy(acc["id"], "growth")  # by bank transfer: no card, no auto-renew
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal").text
    note = " ".join(section(page, 'data-testid="renewal-note"', "</dd>").split())
    assert "Perpanjangan otomatis nonaktif: periode berikutnya (15 Feb 2026 – 15 Mar 2026, Rp499.000) perlu " \
           "dibayar manual sebelum 15 Feb 2026" in note
    english = " ".join(section(v.client.get("/portal?lang=en").text, 'data-testid="renewal-note"', "</dd>").split())
    assert "Auto-renew is off: the next period (15 Feb 2026 – 15 Mar 2026, Rp499,000) needs a manual payment" \
           in english
    # the Renew dialog: the period and the amount; confirming issues exactly that
    dialog = section(v.client.get("/portal?lang=en").text, '<dialog id="renew-dialog"', "</dialog>")
    assert "<dd>15 Feb 2026 – 15 Mar 2026</dd>" in dialog and 'data-testid="renew-amount">Rp499,000<' in dialog
    r = v.client.post("/portal/renew", data={"csrf_token": v.csrf}, follow_redirects=False)
    renewal = env.ok(env.get(f"/v1/invoices/{r.headers['location'].rsplit('/', 1)[1]}"))
    assert (renewal["total"], renewal["period_start"][:10], renewal["period_end"][:10]) == \
        (499_000, "2026-02-15", "2026-03-15")
    # issued: the dialog reads the open invoice
    assert 'data-testid="renew-amount">Rp499,000<' in v.client.get("/portal").text


def test_a_trial_upgrade_dialog_says_what_happens_to_the_rest_of_the_trial(env: Env) -> None:
    acc = env.account(locale="en", start_trial=True)
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal").text
    assert "No card is charged when the trial ends" in page
    upgrade = v.client.get("/portal/upgrade").text
    dialog = " ".join(html.unescape(section(upgrade, '<dialog id="choose-growth"', "</dialog>")).split())
    assert 'data-testid="choose-amount">Rp499,000<' in dialog
    assert "15 Jan 2026 – 15 Feb 2026" in dialog  # paid today: a month from now
    assert ("Your free trial ends when this payment arrives and Growth starts a full month from then; the trial "
            "days left (until 15 Feb 2026) are not added to it.") in dialog
    assert "The Rp15,000 of free conversation credit left from the trial expires, and Growth's Rp30,000" in dialog
    indonesian = " ".join(section(v.client.get("/portal/upgrade?lang=id").text, '<dialog id="choose-growth"',
                                  "</dialog>").split())
    assert "Uji coba gratis Anda berakhir saat pembayaran ini masuk" in indonesian and "Rp15.000" in indonesian
    # what the dialog said is what happens: the trial ends at payment, the period starts then, the credit is swapped
    env.advance(days=10)
    env.buy(acc["id"], "growth")
    sub = env.subscription(acc["id"])
    assert (sub["status"], sub["current_period_start"][:10], sub["current_period_end"][:10]) == \
        ("active", "2026-01-25", "2026-02-25")
    wallet = env.wallet(acc["id"])
    assert (wallet["granted_balance"], wallet["balance"]) == (30_000, 30_000)


def test_an_upgrade_between_paid_plans_shows_the_prorated_amount_and_the_kept_period_end(env: Env) -> None:
    acc = env.account(locale="en")
    env.buy(acc["id"], "growth")
    v = portal_visitor(env, acc["id"])
    dialog = " ".join(section(v.client.get("/portal/upgrade").text, '<dialog id="choose-pro"', "</dialog>").split())
    assert 'data-testid="choose-amount">Rp500,000<' in dialog and "15 Jan 2026 – 15 Feb 2026" in dialog
    assert "for the rest of the current period, which still ends on 15 Feb 2026" in dialog
    starter = " ".join(section(v.client.get("/portal/upgrade").text, '<dialog id="choose-starter"',
                               "</dialog>").split())
    assert "You keep Growth until 15 Feb 2026; then the account moves to Starter. Nothing is paid now." in starter


def test_expired_free_credit_is_not_shown_as_balance(env: Env) -> None:
    acc = env.account(locale="id")  # Free: Rp15.000 of free credit until 15 Feb
    env.top_up(acc["id"], "conversation", 50_000)
    v = portal_visitor(env, acc["id"])
    assert 'data-testid="balance-conversation">Rp65.000<' in v.client.get("/portal").text
    now = env.now()
    with env.db.transaction() as s:  # its end passed and no worker has written the expiry yet
        wallet = s.scalars(select(Wallet).where(Wallet.account_id == acc["id"], Wallet.kind == "conversation")).one()
        wallet.granted_expires_at = now - timedelta(minutes=1)
    for path in ("/portal", "/portal/balance"):
        page = v.client.get(path).text
        assert 'data-testid="balance-conversation">Rp50.000<' in page, path
        assert "Rp65.000" not in page and "berlaku sampai" not in page, path


def test_a_captured_broadcast_shows_what_it_delivered_and_an_empty_chart_says_so(env: Env) -> None:
    acc = env.account(locale="en")
    v = portal_visitor(env, acc["id"])
    empty = v.client.get("/portal/balance/history?wallet=broadcast").text
    assert 'data-testid="chart-empty">Nothing was spent in these 14 days (2 Jan – 15 Jan).<' in empty
    assert "<svg" not in section(empty, 'id="chart-h"', "</section>")
    env.buy(acc["id"], "growth")
    env.top_up(acc["id"], "broadcast", 100_000)
    res = env.ok(env.post("/v1/reservations", {"account_id": acc["id"], "meter": "broadcast_message",
                                               "quantity": 100}), 201)
    env.ok(env.post(f"/v1/reservations/{res['id']}/capture", {"quantity": 80}))
    page = v.client.get("/portal/balance/history?wallet=broadcast&type=all").text
    assert 'data-testid="captured-amount">Rp52,000<' in page and "paid from the hold" in page  # 80 × Rp650
    assert "-Rp65,000" in page and "Rp13,000" in page  # the hold of 100, the 20 released
    assert 'data-testid="chart-empty"' not in page
    assert "Broadcast delivered · Broadcast message × 80" in page


def test_invoice_lines_are_said_in_the_pages_language(env: Env) -> None:
    acc = env.account(locale="id")
    env.buy(acc["id"], "growth")
    env.advance(days=10)
    change = env.buy(acc["id"], "pro")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user", "quantity": 2}), 201)
    add_on = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=add_on"))["data"][0]
    top_up = env.top_up(acc["id"], "broadcast", 20_000)
    v = portal_visitor(env, acc["id"])
    page = v.client.get(f"/portal/invoices/{change['id']}").text
    assert "Sisa waktu tak terpakai di Growth (bulanan) (21 dari 31 hari)" in page
    assert "Sisa waktu di Pro (bulanan) (21 dari 31 hari)" in page and "Unused time" not in page
    assert "Pengguna Tambahan × 2 (21 dari 31 hari)" in v.client.get(f"/portal/invoices/{add_on['id']}").text
    assert "Isi Saldo Broadcast" in v.client.get(f"/portal/invoices/{top_up['id']}").text
    listing = v.client.get("/portal/invoices").text
    assert "Pro (bulanan)" in listing and "Pengguna Tambahan × 2" in listing and "(monthly)" not in listing
    english = v.client.get(f"/portal/invoices/{change['id']}?lang=en").text
    assert "Unused time on Growth (monthly) (21 of 31 days)" in english and "Sisa waktu" not in english
