"""What the portal and console forms do with numbers and dates that are not what they look like, on
SQLite and PostgreSQL: "²" (str.isdigit() says yes, int() says no), a number of 5000 digits, a date
before year 1 in UTC. Each is refused with a clear page (never a 500) and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from langganan.invoices.models import Invoice
from langganan.payments.models import PaymentMethod
from langganan.promotions.models import Promotion
from langganan.wallets.models import WalletEntry
from langganan.web.errors import PageError
from langganan.web.forms import require_whole_number, whole_number
from tests.api.test_console_admin_pages import PROMO_FORM, ops
from tests.api.test_portal_security import portal_visitor
from tests.conftest import Env

TRICKY = ("²", "1²", "٣", "1" * 5000, " 3", "-1", "+1", "1.5", "")


def _count(env: Env, model: type) -> int:
    with env.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_whole_numbers_are_ascii_digits_of_bounded_length() -> None:
    assert whole_number("0042", 4) == 42 and whole_number("12345", 5) == 12345
    for value in TRICKY:
        assert whole_number(value, 10) is None, value
    assert whole_number("12345", 4) is None
    with pytest.raises(PageError) as raised:
        require_whole_number("²", 4, "error.invalid_quantity")
    assert (raised.value.status, raised.value.key) == (422, "error.invalid_quantity")


def test_portal_number_fields_refuse_lookalike_and_huge_digits(env: Env) -> None:
    acc = env.account(locale="en")
    env.buy(acc["id"], "growth")
    v = portal_visitor(env, acc["id"])
    invoices = _count(env, Invoice)
    for bad in ("²", "1" * 5000, "9" * 30):
        r = v.client.post("/portal/add-ons", data={"add_on": "additional_user", "quantity": bad,
                                                   "csrf_token": v.csrf})
        assert r.status_code == 422 and "Choose a quantity from 1." in r.text, bad[:10]
        r = v.client.post("/portal/balance/top-up", data={"wallet": "conversation", "amount": bad,
                                                          "csrf_token": v.csrf})
        assert r.status_code == 400 and "Enter an amount in whole rupiah." in r.text, bad[:10]
        for month, year in ((bad, "2030"), ("12", bad)):
            r = v.client.post("/portal/cards", data={"number": "4242 4242 4242 4242", "exp_month": month,
                                                     "exp_year": year, "cvc": "123", "csrf_token": v.csrf})
            assert r.status_code == 400 and "Check the card&#39;s expiry." in r.text, (month[:10], year[:10])
    assert _count(env, Invoice) == invoices
    assert _count(env, PaymentMethod) == 0
    # the same forms still take a plain number
    r = v.client.post("/portal/cards", data={"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2030",
                                             "cvc": "123", "csrf_token": v.csrf}, follow_redirects=False)
    assert r.status_code == 303 and _count(env, PaymentMethod) == 1


def test_history_page_ignores_a_cursor_that_is_not_a_row_id(env: Env) -> None:
    acc = env.account(locale="en")
    env.top_up(acc["id"], "conversation", 50000)
    v = portal_visitor(env, acc["id"])
    first = v.client.get("/portal/balance/history?type=all")
    assert first.status_code == 200 and "Rp50,000" in first.text
    for bad in ("²", "1" * 5000, "9" * 30):
        r = v.client.get("/portal/balance/history", params={"type": "all", "before": bad})
        assert r.status_code == 200 and "Rp50,000" in r.text, bad[:10]


def test_history_dates_out_of_range_are_refused(env: Env) -> None:
    acc = env.account(locale="en", timezone="Asia/Jakarta")
    v = portal_visitor(env, acc["id"])
    # midnight of 1 Jan year 1 in Jakarta is before UTC's year 1; the day after 31 Dec 9999 is none
    for field, bad in (("since", "0001-01-01"), ("until", "9999-12-31"), ("since", "2026-02-30"),
                       ("until", "2026-02-30"), ("since", "²"), ("until", "2026-1-5")):
        r = v.client.get("/portal/balance/history", params={field: bad})
        assert r.status_code == 422 and "Dates look like 2026-01-31." in r.text, (field, bad)
    assert v.client.get("/portal/balance/history?since=0001-01-02&until=9999-12-30").status_code == 200


def test_history_until_keeps_the_last_second_of_the_day(env: Env) -> None:
    """An entry at 23:59:59.5 local time on the `until` day is listed."""
    acc = env.account(locale="en", timezone="Asia/Jakarta")
    env.top_up(acc["id"], "conversation", 50000)
    late = datetime(2026, 1, 15, 16, 59, 59, 500000, tzinfo=UTC)  # 23:59:59.5 in Jakarta (UTC+7)
    with env.db.transaction() as s:
        entry = s.scalars(select(WalletEntry).order_by(WalletEntry.id.desc())).first()
        assert entry is not None
        entry.created_at = late
    v = portal_visitor(env, acc["id"])
    r = v.client.get("/portal/balance/history?type=all&since=2026-01-15&until=2026-01-15")
    assert r.status_code == 200 and "Rp50,000" in r.text
    with env.db.transaction() as s:
        entry = s.get(WalletEntry, entry.id)
        assert entry is not None
        entry.created_at = late + timedelta(seconds=1)  # the next day: not listed
    r = v.client.get("/portal/balance/history?type=all&since=2026-01-15&until=2026-01-15")
    assert r.status_code == 200 and "Rp50,000" not in r.text


def test_console_number_fields_refuse_lookalike_and_huge_digits(env: Env) -> None:
    client, csrf = ops(env)
    before = env.now()
    for bad in ("²", "1" * 5000, "9" * 30):
        for days, hours in ((bad, "0"), ("0", bad), (bad, bad)):
            r = client.post("/console/clock", data={"days": days, "hours": hours, "csrf_token": csrf})
            assert r.status_code == 422 and "The form was not filled in correctly." in r.text
        for field in ("value", "max_redemptions"):
            r = client.post("/console/promotions", data={**PROMO_FORM, field: bad, "csrf_token": csrf})
            assert r.status_code == 422 and "whole number" in r.text, (field, bad[:10])
        r = client.post("/console/promotions", data={**PROMO_FORM, "ends_on": "", "duration_months": bad,
                                                     "csrf_token": csrf})
        assert r.status_code == 422 and "whole number" in r.text, bad[:10]
    assert env.now() == before and _count(env, Promotion) == 0
    r = client.post("/console/clock", data={"days": "1", "hours": "0", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and env.now() == before + timedelta(days=1)


def test_table_header_labels_use_classes_the_stylesheet_defines(env: Env) -> None:
    """A header label kept for screen readers only must be hidden by a class style.css has."""
    acc = env.account(locale="en")
    env.buy(acc["id"], "growth")
    env.pay_va(env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user", "quantity": 1}),
                      201))
    v = portal_visitor(env, acc["id"])
    css = v.client.get("/static/style.css").text
    page = v.client.get("/portal/add-ons/manage").text
    assert 'data-item="' in page
    header_classes = set(re.findall(r'<th[^>]*><span class="([^"]+)"', page))
    assert header_classes == {"visually-hidden"}
    for name in header_classes:
        assert re.search(r"\." + re.escape(name) + r"\s*\{", css), name
