"""What the busiest pages ask the database, on SQLite and PostgreSQL: the payment status the page
polls every second loads only what it shows, /portal reads the account once, and the invoice tables
do not pull invoice lines they never show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.api.test_console_admin_pages import ops
from tests.api.test_portal_security import portal_visitor
from tests.conftest import Env


@contextmanager
def statements(env: Env) -> Iterator[list[str]]:
    """The SQL the app runs meanwhile, lower-cased."""
    seen: list[str] = []
    engine = env.client.app.state.ctx.db.engine

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql.lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def touching(seen: list[str], table: str) -> list[str]:
    return [sql for sql in seen if re.search(rf"\bfrom {table}\b", sql)]


def test_the_payment_status_poll_loads_only_what_it_shows(env: Env) -> None:
    acc = env.account(locale="en")
    env.card(acc["id"])
    v = portal_visitor(env, acc["id"])
    r = v.client.post("/portal/upgrade", data={"plan": "growth", "csrf_token": v.csrf}, follow_redirects=False)
    invoice_id = r.headers["location"].rsplit("/", 1)[1]
    assert v.client.post(f"/portal/pay/{invoice_id}/bank-transfer", data={"bank": "bni", "csrf_token": v.csrf},
                         follow_redirects=False).status_code == 303
    invoice = env.ok(env.get(f"/v1/invoices/{invoice_id}"))
    with statements(env) as seen:
        poll = v.client.get(f"/portal/pay/{invoice_id}/status")
    assert poll.status_code == 200 and invoice["payment"]["va_number"] in poll.text
    assert 'hx-trigger="every 1s"' in poll.text
    for table in ("notifications", "payment_methods", "invoice_lines"):
        assert touching(seen, table) == [], table
    assert len(touching(seen, "accounts")) == 1 and len(touching(seen, "payments")) == 1
    # the full page still lists the saved card and the open transfer
    page = v.client.get(f"/portal/pay/{invoice_id}").text
    assert "•••• 4242" in page and invoice["payment"]["va_number"] in page

    env.pay_va(invoice)
    with statements(env) as seen:
        done = v.client.get(f"/portal/pay/{invoice_id}/status")
    assert done.status_code == 200 and "Payment received" in done.text and "hx-trigger" not in done.text
    assert touching(seen, "payments") == []  # a paid invoice has no transfer to show
    # another account's invoice is not found here either
    other = portal_visitor(env, env.account(locale="en")["id"])
    assert other.client.get(f"/portal/pay/{invoice_id}/status").status_code == 404


def test_portal_and_console_tables_read_the_account_once_and_no_invoice_lines(env: Env) -> None:
    acc = env.account(locale="en")
    env.buy(acc["id"], "growth")
    env.top_up(acc["id"], "conversation", 50000)
    v = portal_visitor(env, acc["id"])
    client, _csrf = ops(env)
    pages = [(v.client, "/portal"), (v.client, "/portal/invoices"), (v.client, "/portal/balance/top-ups"),
             (client, "/console/invoices"), (client, f"/console/accounts/{acc['id']}")]
    for who, path in pages:
        with statements(env) as seen:
            r = who.get(path)
        assert r.status_code == 200 and "Rp50,000" in r.text, path  # portal and console, both in English
        assert touching(seen, "invoice_lines") == [], path
        if path == "/portal":
            assert len(touching(seen, "accounts")) == 1, seen
    # an invoice's own page still shows its lines
    invoice_id = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=top_up"))["data"][0]["id"]
    with statements(env) as seen:
        detail = v.client.get(f"/portal/invoices/{invoice_id}")
    assert touching(seen, "invoice_lines") and "Rp50,000" in detail.text
