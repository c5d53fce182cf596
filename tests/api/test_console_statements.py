"""The console's bank statement pages over HTTP on SQLite and PostgreSQL: upload a file (a staff session and
its CSRF token needed, a bad file re-shows the form with the reason and stores nothing), see each line's
status, and assign an unmatched line to an invoice by its number."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from langganan.statements.models import BankStatement, BankStatementLine
from tests.api.test_bank_statements import bca, held, top_up
from tests.api.test_portal_security import CSRF_RE, _console_login
from tests.conftest import Env


def ops(env: Env) -> tuple[TestClient, str]:
    with env.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, "ops@example.id", "correct horse battery").status_code == 303
    page = client.get("/console/statements")
    assert page.status_code == 200
    return client, CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]


def stored(env: Env) -> tuple[Any, ...]:
    with env.db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(BankStatement)),
                s.scalar(select(func.count()).select_from(BankStatementLine)))


def statuses(html: str) -> dict[int, str]:
    return {int(n): s for n, s in re.findall(r'data-line="(\d+)" data-status="([a-z_]+)"', html)}


def test_upload_see_lines_and_assign_by_invoice_number(env: Env) -> None:
    client, csrf = ops(env)
    paid_by_amount = top_up(env, 123_000)
    later = top_up(env, 600_000)
    file = bca(("05/01", "KR OTOMATIS CV SINAR JAYA", 123_000, "CR", 1_123_000),
               ("06/01", "SETORAN TUNAI", 650_000, "CR", 1_773_000))
    res = client.post("/console/statements", data={"csrf_token": csrf, "format": "bca"},
                      files={"file": ("mutasi-jan.csv", file, "text/csv")}, follow_redirects=False)
    assert res.status_code == 303, res.text
    page = client.get(res.headers["location"])
    assert statuses(page.text) == {7: "matched", 8: "no_match"}
    assert "mutasi-jan.csv" in page.text and "Rp123,000" in page.text and "0613005878" in page.text
    assert page.text.count('class="assign"') == 1  # a form on the unmatched line only
    assert env.ok(env.get(f"/v1/invoices/{paid_by_amount['id']}"))["status"] == "paid"
    listing = client.get("/console/statements")
    assert "mutasi-jan.csv" in listing.text

    statement = res.headers["location"].rsplit("/", 1)[1]
    wrong = client.post(f"/console/statements/{statement}/lines/8/assign",
                        data={"csrf_token": csrf, "invoice": paid_by_amount["number"]})
    assert wrong.status_code == 409 and "cannot be paid" in wrong.text
    assert statuses(wrong.text)[8] == "no_match"
    done = client.post(f"/console/statements/{statement}/lines/8/assign",
                       data={"csrf_token": csrf, "invoice": later["number"].lower()}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert statuses(page.text) == {7: "matched", 8: "matched"} and 'class="assign"' not in page.text
    assert "assigned by hand" in page.text and "Line assigned" in page.text
    assert env.ok(env.get(f"/v1/invoices/{later['id']}"))["status"] == "paid"
    assert held(env) == [(later["account_id"], "statement_no_match", 650_000, "applied"),
                         (later["account_id"], "overpayment", 50_000, "open")]
    env.assert_books()
    indonesian = client.get(done.headers["location"].split("?")[0] + "?lang=id")
    assert "ditetapkan manual" in indonesian.text


def test_a_bad_file_re_shows_the_form_and_forms_need_the_csrf_token(env: Env) -> None:
    client, csrf = ops(env)
    before = stored(env)
    bad = client.post("/console/statements", data={"csrf_token": csrf, "format": "mandiri"},
                      files={"file": ("x.csv", b"Tanggal Transaksi,Keterangan\n", "text/csv")})
    assert bad.status_code == 422 and "no header row" in bad.text and 'aria-invalid="true"' in bad.text
    generic = client.post("/console/statements", data={"csrf_token": csrf, "format": "generic", "date_column": "1"},
                          files={"file": ("x.csv", b"a,b\n", "text/csv")})
    assert generic.status_code == 422 and "description_column" in generic.text
    assert 'value="1"' in generic.text  # what was typed is kept
    missing = client.post("/console/statements", data={"csrf_token": csrf, "format": "bca"})
    assert missing.status_code == 422
    forged = client.post("/console/statements", data={"csrf_token": "forged", "format": "bca"},
                         files={"file": ("m.csv", bca(("05/01", "SETORAN", 1_000, "CR", 1)), "text/csv")})
    assert forged.status_code == 403
    anonymous = TestClient(env.client.app).get("/console/statements", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    assert stored(env) == before
