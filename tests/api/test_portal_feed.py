"""The portal's notifications feed over HTTP on both databases: each happening once, as a sentence in the page's
language (never an event type), paged without splitting or repeating an entry, marked read as one."""

from __future__ import annotations

import re

from langganan.events import service as events
from langganan.notifications.worker import run_notifications
from tests.api.test_portal_security import Visitor, portal_visitor
from tests.conftest import Env

ENTRY_RE = re.compile(r'<p class="feed-text">([^<]*)</p>')


def dispatch(env: Env) -> None:
    run_notifications(env.db, env.client.app.state.ctx.courier)


def entries(v: Visitor, query: str = "") -> list[str]:
    page = v.client.get("/portal/notifications" + query)
    assert page.status_code == 200
    return ENTRY_RE.findall(page.text.replace("&#39;", "'"))


def test_each_happening_is_one_sentence_in_the_pages_language(env: Env) -> None:
    acc = env.account(locale="id")
    growth = env.buy(acc["id"], "growth")
    env.card(acc["id"])
    env.top_up(acc["id"], "broadcast", 20_000)
    dispatch(env)
    v = portal_visitor(env, acc["id"])
    english = entries(v, "?lang=en")
    number = growth["number"]
    # invoice.created, payment.succeeded and invoice.paid of one payment: one entry
    assert [e for e in english if number in e] == [f"We received Rp499,000 for invoice {number}. Thank you!"]
    assert "Your plan is now Growth (monthly), until 15 Feb 2026." in english
    assert "Your card Visa •••• 4242 was saved." in english
    assert "Rp20,000 was added to your Broadcast Balance; it is now Rp20,000." in english
    assert len(english) == len(set(english))
    indonesian = entries(v, "?lang=id")
    assert f"Kami telah menerima Rp499.000 untuk invoice {number}. Terima kasih!" in indonesian
    assert "Paket Anda sekarang Growth (bulanan), sampai 15 Feb 2026." in indonesian
    assert "Kartu Visa •••• 4242 Anda disimpan." in indonesian
    assert len(indonesian) == len(english)
    text = v.client.get("/portal/notifications?lang=id").text
    for event_type in set(env.event_types(acc["id"])):
        assert event_type not in text, event_type
    # the navigation counts entries, not rows
    assert f'data-testid="unread-count" aria-hidden="true">{len(indonesian)}<' in text


def test_a_declined_renewal_is_said_in_indonesian_with_the_reason(env: Env) -> None:
    acc = env.account(locale="id")
    good = env.card(acc["id"])
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                    {"plan": "growth", "payment_method": "card", "payment_method_id": good}))
    bad = env.card(acc["id"], "4000000000000002")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/auto-renew", {"enabled": True, "payment_method_id": bad}))
    env.advance(days=31)
    dispatch(env)
    said = entries(portal_visitor(env, acc["id"]))
    renewal = [e for e in said if "perpanjangan Growth" in e and "gagal" in e]
    assert len(renewal) == 1, said
    assert renewal[0].startswith("Pembayaran kartu untuk perpanjangan Growth (invoice INV/2026/02/")
    assert "Kartu ditolak" in renewal[0] and "declined" not in " ".join(said)


def test_an_event_the_page_has_no_sentence_for_says_the_account_was_updated(env: Env) -> None:
    acc = env.account(locale="en")
    with env.db.transaction() as s:
        events.emit(s, "account.something_new", acc["id"], {"account_id": acc["id"]}, env.now())
    dispatch(env)
    said = entries(portal_visitor(env, acc["id"]))
    assert said[0] == "Your account was updated."
    assert "something_new" not in " ".join(said)


def test_the_feed_pages_whole_entries_without_repeating_one(env: Env) -> None:
    acc = env.account(locale="en")
    for i in range(25):  # 25 top-ups, each one entry (its invoice, payment and credit)
        env.top_up(acc["id"], "conversation", 30_000 + i * 1_000)
    dispatch(env)
    v = portal_visitor(env, acc["id"])
    first = v.client.get("/portal/notifications").text
    page1 = ENTRY_RE.findall(first)
    older = re.search(r'href="/portal/notifications\?before=([^"]+)"', first)
    assert len(page1) == 20 and older is not None
    page2 = entries(v, f"?before={older.group(1)}")
    assert "feed-older" not in v.client.get(f"/portal/notifications?before={older.group(1)}").text
    together = page1 + page2
    assert len(together) == len(set(together)) == 25 + 3  # + account opened, billing updated, free credit
    for i in range(25):
        amount = f"Rp{30_000 + i * 1_000:,}"
        assert sum(e.startswith(f"{amount} was added to your Conversation Balance") for e in together) == 1, amount
    assert v.client.get("/portal/notifications?before=" + "z" * 61).status_code == 200  # a cursor that is no id


def test_marking_an_entry_read_marks_every_row_it_stands_for(env: Env) -> None:
    acc = env.account(locale="en")
    growth = env.buy(acc["id"], "growth")
    dispatch(env)
    v = portal_visitor(env, acc["id"])
    page = v.client.get("/portal/notifications").text
    unread_before = int(re.search(r'data-testid="unread-count" aria-hidden="true">(\d+)<', page).group(1))  # type: ignore[union-attr]
    item = page[page.index(f"for invoice {growth['number']}"):]
    form = item[item.index('<form method="post" action="/portal/notifications/'):item.index("</form>")]
    first = re.search(r'action="/portal/notifications/([^/]+)/read"', form).group(1)  # type: ignore[union-attr]
    also = re.findall(r'name="also" value="([^"]+)"', form)
    assert also, "the payment's entry stands for more than one row"
    r = v.client.post(f"/portal/notifications/{first}/read", data={"csrf_token": v.csrf, "also": also},
                      follow_redirects=False)
    assert r.status_code == 303
    feed = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications?unread=true"))["data"]
    assert not {first, *also} & {n["id"] for n in feed}
    after = v.client.get("/portal/notifications").text
    assert f'aria-hidden="true">{unread_before - 1}<' in after
    # another account's row is not found, and nothing of this account is marked with it
    other = env.account(locale="en")
    dispatch(env)
    theirs = env.ok(env.get(f"/v1/accounts/{other['id']}/notifications"))["data"][0]["id"]
    mine = env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications?unread=true"))["data"][0]["id"]
    r = v.client.post(f"/portal/notifications/{mine}/read", data={"csrf_token": v.csrf, "also": [theirs]})
    assert r.status_code == 404
    assert mine in {n["id"] for n in env.ok(env.get(f"/v1/accounts/{acc['id']}/notifications?unread=true"))["data"]}


def test_operator_actions_are_said_too(env: Env) -> None:
    acc = env.account(locale="id")
    env.buy(acc["id"], "growth")
    sub = env.subscription(acc["id"])
    with env.db.transaction() as s:
        now = env.client.app.state.ctx.clock.now(s)
        snapshot = {"subscription_id": sub["id"], "plan": "growth", "interval": "month", "status": "active",
                    "current_period_start": sub["current_period_start"],
                    "current_period_end": "2026-02-22T03:00:00+00:00"}
        events.emit(s, "subscription.free_period_given", acc["id"], {**snapshot, "days": 7}, now)
        events.emit(s, "wallet.adjusted", acc["id"], {"wallet": "conversation", "amount": -5_000, "balance": 25_000,
                                                      "reference": "x"}, now)
        events.emit(s, "subscription.cancel_undone", acc["id"], snapshot, now)
    dispatch(env)
    said = entries(portal_visitor(env, acc["id"]))
    assert "Pembatalan Anda ditarik kembali: Growth berlanjut dan diperpanjang seperti biasa." in said
    assert "Rp5.000 dikurangi dari Saldo Percakapan Anda; sekarang Rp25.000." in said
    assert "Anda mendapat 7 hari gratis: Growth sekarang berlaku sampai 22 Feb 2026." in said
    assert "Akun Anda diperbarui." not in said
