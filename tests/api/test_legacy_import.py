"""Legacy postpaid subscribers moved to prepaid through POST /v1/legacy-imports (issue 4, DESIGN:
Migration): the waived month, the period to the next enrollment anniversary, account.migrated and
its email, re-runs that change nothing, bad rows reported by line, and a migrated account's first
year of renewals by bank transfer. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from langganan.app import make_context
from langganan.invoices import numbering
from langganan.legacy import rules as legacy_rules
from langganan.legacy import runner as legacy_runner
from langganan.legacy.service import RowResult
from langganan.notifications.worker import run_notifications
from tests.api.test_bad_input import assert_error, snapshot, unchanged
from tests.api.test_lifecycle import at, invoices, months, renewal_of
from tests.api.test_notifications import mail  # noqa: F401  (the SMTP fixture)
from tests.api.test_portal_security import portal_visitor
from tests.api.test_protocol import integration_headers
from tests.conftest import Env
from tests.notify_support import Inbox, body_text

HEADER = "account_key,name,email,plan,interval,enrolled_on,last_unpaid_month,locale\n"
GOOD = ("L-100,Toko Satu,satu@example.id,growth,month,2024-03-10,2025-12,en\n"
        "L-101,Toko Dua,dua@example.id,Pro,year,2023-03-10,2025-12,id\n")
CSV = (HEADER + GOOD
       + "L-102,Toko Tiga,tiga@example.id,platinum,month,2024-03-10,2025-12,en\n"    # line 4
       + "L-103,Toko Empat,empat@example.id,growth,month,2024-02-30,2025-12,en\n"    # line 5
       + "L-104,Toko Lima,,growth,month,2024-03-10,2025-12,en\n"                     # line 6
       + "L-105,Toko Enam,enam@example.id,growth,month,2026-02-01,2026-01,en\n"      # line 7
       + "L-106,Toko Tujuh,tujuh@example.id,growth,month,2024-03-10,2026-03,en\n"    # line 8
       + "L-107,Toko Delapan,delapan@example.id,free,month,2024-03-10,2025-12,en\n"  # line 9
       + "L-108,Toko Sembilan,bad-email,growth,month,2024-03-10,2025-12,en\n")       # line 10
FAILED = {4: "unknown_plan", 5: "invalid_date", 6: "missing_field", 7: "enrolled_in_future",
          8: "unpaid_month_in_future", 9: "plan_not_paid", 10: "invalid_email"}


def wib(day: str, time: str = "00:00") -> str:
    return f"{day}T{time}:00+07:00"


def post_csv(env: Env, text: str, *, dry_run: bool = False, headers: dict[str, str] | None = None) -> Any:
    return env.client.post("/v1/legacy-imports" + ("?dry_run=true" if dry_run else ""), content=text.encode(),
                           headers={**(headers or env.headers), "Content-Type": "text/csv"})


def import_csv(env: Env, text: str, **kw: Any) -> dict[str, Any]:
    return dict(env.ok(post_csv(env, text, **kw)))


def by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["account_key"]: r for r in report["results"]}


def test_good_rows_are_imported_and_bad_rows_reported_by_line(env: Env) -> None:
    report = import_csv(env, CSV)
    assert report["summary"] == {"imported": 2, "unchanged": 0, "conflict": 0, "failed": 7}
    assert [(r["line"], r["status"]) for r in report["results"][:2]] == [(2, "imported"), (3, "imported")]
    assert {r["line"]: r["code"] for r in report["results"] if r["status"] == "failed"} == FAILED
    for r in report["results"][2:]:
        assert r["message"].endswith(".") and r["account_id"] is None
    assert by_key(report)["L-104"]["param"] == "email"

    # the failed rows left nothing behind: two accounts, two waived invoices
    rows = by_key(report)
    satu, dua = rows["L-100"], rows["L-101"]
    assert env.ok(env.get("/v1/accounts?external_id=L-102"))["data"] == []
    assert [a["external_id"] for a in env.ok(env.get("/v1/accounts?limit=100"))["data"]] == ["L-101", "L-100"]

    # the last postpaid month, waived: a zero invoice numbered in the month's sequence
    waived = env.ok(env.get(f"/v1/invoices/{satu['invoice_id']}"))
    assert (waived["number"], waived["type"], waived["status"], waived["total"]) == (
        "INV/2026/01/00001", "subscription", "waived", 0)
    assert (waived["subtotal"], waived["discount"], waived["tax"]) == (0, 0, 0)
    assert waived["payment"] is None and waived["expires_at"] is None
    (line,) = waived["lines"]
    assert line["description"] == "Growth (monthly), postpaid December 2025: waived for the move to prepaid billing"
    assert (at(line["period_start"]), at(line["period_end"])) == (at(wib("2025-12-01")), at(wib("2026-01-01")))
    assert env.ok(env.get(f"/v1/invoices/{dua['invoice_id']}"))["number"] == "INV/2026/01/00002"

    # monthly: the period runs to the next enrollment day of month, midnight in the account's zone
    sub = env.subscription(satu["account_id"])
    assert (sub["plan"], sub["interval"], sub["status"]) == ("growth", "month", "active")
    assert at(sub["current_period_start"]) == at(wib("2026-01-10"))
    assert at(sub["current_period_end"]) == at(satu["period_end"]) == at(wib("2026-02-10"))
    wallet = env.wallet(satu["account_id"])
    assert (wallet["granted_balance"], at(wallet["granted_expires_at"])) == (30000, at(wib("2026-02-10")))

    # yearly: to the enrollment's month and day; included credit monthly on the anchor day (rule 5)
    sub = env.subscription(dua["account_id"])
    assert (sub["plan"], sub["interval"]) == ("pro", "year")
    assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (
        at(wib("2025-03-10")), at(wib("2026-03-10")))
    wallet = env.wallet(dua["account_id"])
    assert (wallet["granted_balance"], at(wallet["granted_expires_at"])) == (60000, at(wib("2026-02-10")))

    events = env.event_types(satu["account_id"])
    assert events.count("account.migrated") == 1 and events.count("invoice.created") == 1
    (migrated,) = env.ok(env.get(f"/v1/events?account_id={satu['account_id']}&type=account.migrated"))["data"]
    assert migrated["data"]["waived_month"] == "2025-12" and migrated["data"]["plan_name"] == "Growth"
    assert at(migrated["data"]["period_end"]) == at(wib("2026-02-10"))
    env.assert_books()


def test_the_customer_sees_the_waived_invoice_in_the_portal_and_as_a_pdf(env: Env) -> None:
    row = import_csv(env, HEADER + GOOD.splitlines()[0] + "\n")["results"][0]
    pdf = env.get(f"/v1/invoices/{row['invoice_id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    visitor = portal_visitor(env, row["account_id"])
    page = visitor.client.get("/portal").text
    assert "Growth" in page and row["invoice_number"] in page and "Waived" in page
    detail = visitor.client.get(f"/portal/invoices/{row['invoice_id']}")
    assert detail.status_code == 200 and "postpaid December 2025" in detail.text


def test_rerunning_the_import_changes_nothing_and_a_changed_row_is_a_conflict(env: Env) -> None:
    first = import_csv(env, CSV)
    with unchanged(env):
        again = import_csv(env, CSV)
        assert again["summary"] == {"imported": 0, "unchanged": 2, "conflict": 0, "failed": 7}
        assert [(r["account_id"], r["invoice_id"]) for r in again["results"]] == [
            (r["account_id"], r["invoice_id"]) for r in first["results"]]
        # the same row written differently (case, spaces, default interval) is the same row
        same = import_csv(env, "account_key,email,name,plan,enrolled_on,last_unpaid_month,locale\n"
                               "L-100, SATU@example.id ,Toko Satu,GROWTH,2024-03-10,2025-12,en\n")
        assert same["results"][0]["status"] == "unchanged"
        changed = import_csv(env, HEADER + "L-100,Toko Satu,satu@example.id,pro,month,2024-03-10,2025-12,en\n")
        (row,) = changed["results"]
        assert (row["status"], row["code"], row["param"]) == ("conflict", "already_migrated", "plan")
        assert "not applied" in row["message"] and row["account_id"] == first["results"][0]["account_id"]
    assert env.subscription(first["results"][0]["account_id"])["plan"] == "growth"


def test_an_account_not_created_by_the_import_is_left_alone(env: Env) -> None:
    env.account(external_id="L-100")
    with unchanged(env):
        report = import_csv(env, HEADER + GOOD.splitlines()[0] + "\n")
    assert (report["results"][0]["status"], report["results"][0]["code"]) == ("failed", "external_id_taken")


def test_dry_run_reports_and_keeps_nothing(env: Env) -> None:
    with unchanged(env):
        report = import_csv(env, CSV + "L-100,Toko Satu,satu@example.id,pro,month,2024-03-10,2025-12,en\n",
                            dry_run=True)
    assert report["dry_run"] is True
    # the file's second row for L-100 is seen as a conflict, as it would be for real
    assert report["summary"] == {"imported": 2, "unchanged": 0, "conflict": 1, "failed": 7}
    assert import_csv(env, CSV)["summary"]["imported"] == 2


def test_json_rows_and_bad_requests(env: Env) -> None:
    rows = [{"account_key": "J-1", "name": "Toko Json", "email": "json@example.id", "plan": "starter",
             "enrolled_on": "2025-06-05", "last_unpaid_month": "2025-12"},
            {"account_key": "J-2", "name": "Toko Json", "email": "json2@example.id", "plan": "starter"}]
    report = env.ok(env.post("/v1/legacy-imports", {"rows": rows}))
    assert [(r["line"], r["status"], r["param"]) for r in report["results"]] == [
        (1, "imported", None), (2, "failed", "enrolled_on")]
    assert at(report["results"][0]["period_end"]) == at(wib("2026-02-05"))
    integration = integration_headers(env)
    with unchanged(env):
        assert_error(env.post("/v1/legacy-imports", {"rows": [{**rows[0], "plan_code": "x"}]}), 422,
                     "unknown_parameter", "rows.0.plan_code")
        assert_error(env.post("/v1/legacy-imports", {"rows": []}), 422, "invalid_parameter", "rows")
        assert_error(env.client.post("/v1/legacy-imports", content=b"{", headers={
            **env.headers, "Content-Type": "application/json"}), 400, "invalid_json")
        assert_error(env.client.post("/v1/legacy-imports", content=b"a=b", headers={
            **env.headers, "Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type")
        assert_error(post_csv(env, "account_key,name,email\nL-1,a,b\n"), 422, "missing_column", "plan")
        assert_error(post_csv(env, ""), 422, "empty_file")
        assert_error(env.client.post("/v1/legacy-imports", content=b"\xff\xfe", headers={
            **env.headers, "Content-Type": "text/csv"}), 400, "invalid_csv")
        assert_error(post_csv(env, CSV, headers=integration), 403, "forbidden")


def test_a_jan_31_enrollment_keeps_its_anchor_through_february(env: Env) -> None:
    env.advance(to="2026-02-01T10:00:00+07:00")
    report = import_csv(env, HEADER + "L-31,Toko Akhir Bulan,akhir@example.id,starter,month,2025-01-31,2026-01,en\n")
    acc = report["results"][0]["account_id"]
    sub = env.subscription(acc)
    assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (
        at(wib("2026-01-31")), at(wib("2026-02-28")))
    env.advance(to="2026-02-21T01:00:00+07:00")
    renewal = renewal_of(env, acc, wib("2026-02-28"))
    assert at(renewal["period_end"]) == at(wib("2026-03-31"))  # the anchor day, 31, is kept
    assert at(renewal["issued_at"]) == at(wib("2026-02-21"))


def test_an_anniversary_within_a_week_gets_its_renewal_invoice_at_once(env: Env) -> None:
    report = import_csv(env, HEADER + "L-18,Toko Cepat,cepat@example.id,growth,month,2024-03-18,2025-12,en\n")
    acc = report["results"][0]["account_id"]
    imported_at = env.now()
    env.advance(hours=1)
    renewal = renewal_of(env, acc, wib("2026-01-18"))
    assert at(renewal["issued_at"]) == imported_at and renewal["status"] == "unpaid"
    assert renewal["payment"]["va_number"] and renewal["total"] == 499000


def test_a_migrated_account_renews_by_bank_transfer_for_a_year(env: Env) -> None:
    report = import_csv(env, HEADER + GOOD.splitlines()[0] + "\n")
    acc = report["results"][0]["account_id"]
    end = at(wib("2026-02-10"))
    for n in range(12):
        nxt = at(wib(f"{2026 + (n + 2) // 12}-{(n + 2) % 12 + 1:02d}-10"))
        env.advance(to=(end - timedelta(days=7, hours=-1)).isoformat())
        renewal = renewal_of(env, acc, end.isoformat())
        assert (renewal["status"], renewal["total"], renewal["package"]) == ("unpaid", 499000, "Growth (monthly)")
        assert at(renewal["issued_at"]) == end - timedelta(days=7)  # 7 days before the anniversary
        assert at(renewal["period_end"]) == nxt and renewal["payment"]["method"] == "bank_transfer"
        assert env.pay_va(renewal)["outcome"] == "applied"
        env.advance(to=(end + timedelta(hours=1)).isoformat())
        sub = env.subscription(acc)
        assert (sub["plan"], sub["status"]) == ("growth", "active")
        assert (at(sub["current_period_start"]), at(sub["current_period_end"])) == (end, nxt)
        assert env.wallet(acc)["granted_balance"] == 30000
        end = nxt
    rows = invoices(env, acc)
    assert rows[0] == ("INV/2026/01/00001", "subscription", "waived", 0)
    assert rows[1:] == [(f"INV/{m.replace('-', '/')}/00001", "renewal", "paid", 499000) for m in months(2, 13)]
    events = env.event_types(acc)
    assert events.count("account.migrated") == 1 and events.count("subscription.renewed") == 12
    assert "subscription.past_due" not in events and "subscription.downgraded" not in events
    env.assert_books()


def test_the_migration_email_in_the_account_language(mail: tuple[Env, Inbox]) -> None:  # noqa: F811
    env, inbox = mail
    report = import_csv(env, HEADER + GOOD)
    run_notifications(env.db, env.client.app.state.ctx.courier)
    satu, dua = by_key(report)["L-100"], by_key(report)["L-101"]

    en = {m["Subject"]: body_text(m) for m in inbox.to("satu@example.id")}
    assert set(en) == {"Your account has moved to prepaid billing", f"Invoice {satu['invoice_number']} issued: Rp0"}
    text = en["Your account has moved to prepaid billing"]
    assert text.startswith("Hello Toko Satu,\n\n")
    assert ("Your Growth subscription now uses prepaid billing. Your last postpaid month is waived, and your "
            "next payment is due on 10 February 2026.") in text
    assert "This invoice is waived: there is nothing to pay." in en[f"Invoice {satu['invoice_number']} issued: Rp0"]

    idn = {m["Subject"]: body_text(m) for m in inbox.to("dua@example.id")}
    text = idn["Akun Anda telah pindah ke pembayaran prabayar"]
    assert text.startswith("Halo Toko Dua,\n\n")
    assert ("Langganan Pro Anda kini menggunakan sistem prabayar. Tagihan pascabayar bulan terakhir Anda "
            "dibebaskan, dan pembayaran berikutnya jatuh tempo pada 10 Maret 2026.") in text
    assert "Tagihan ini dibebaskan" in idn[f"Invoice {dua['invoice_number']} diterbitkan: Rp0"]

    feed = env.ok(env.get(f"/v1/accounts/{dua['account_id']}/notifications"))["data"]
    assert "Akun Anda telah pindah ke pembayaran prabayar" in [n["title"] for n in feed]
    before = snapshot(env)
    import_csv(env, HEADER + GOOD)
    run_notifications(env.db, env.client.app.state.ctx.courier)
    assert len(inbox.messages) == 4 and snapshot(env)["counts"] == before["counts"]  # a re-run sends nothing


def test_a_year_one_date_fails_its_row_and_the_others_are_imported(env: Env) -> None:
    text = (HEADER + GOOD.splitlines()[0] + "\n"
            + "L-110,Toko Kuno,kuno@example.id,growth,month,0001-01-01,2025-12,en\n"   # line 3
            + "L-111,Toko Tua,tua@example.id,growth,month,2024-03-10,0001-01,en\n"     # line 4
            + GOOD.splitlines()[1] + "\n")
    report = import_csv(env, text)
    assert report["summary"] == {"imported": 2, "unchanged": 0, "conflict": 0, "failed": 2}
    assert [(r["line"], r["code"], r["param"]) for r in report["results"] if r["status"] == "failed"] == [
        (3, "invalid_date", "enrolled_on"), (4, "invalid_month", "last_unpaid_month")]


def test_an_unexpected_error_fails_its_row_only(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    # without the year check, a year-1 enrollment reaches the period arithmetic and overflows: an error
    # no rule foresees, which must fail that row alone (rows before it kept, rows after it imported)
    monkeypatch.setattr(legacy_rules, "MIN_YEAR", 1)
    text = (HEADER + GOOD.splitlines()[0] + "\n"
            + "L-110,Toko Kuno,kuno@example.id,growth,month,0001-01-01,2025-12,en\n"
            + GOOD.splitlines()[1] + "\n")
    for dry_run in (True, False):
        report = import_csv(env, text, dry_run=dry_run)
        assert report["summary"] == {"imported": 2, "unchanged": 0, "conflict": 0, "failed": 1}
        failed = report["results"][1]
        assert (failed["line"], failed["account_key"], failed["code"]) == (3, "L-110", "internal_error")
        assert failed["message"].endswith(".") and failed["account_id"] is None
    assert "line 3 failed unexpectedly" in caplog.text and "OverflowError" in caplog.text
    assert env.ok(env.get("/v1/accounts?external_id=L-110"))["data"] == []
    assert [a["external_id"] for a in env.ok(env.get("/v1/accounts?limit=100"))["data"]] == ["L-101", "L-100"]
    env.assert_books()


def test_a_dry_run_takes_no_invoice_number(env: Env) -> None:
    """A dry run holds its transaction open to the last row; it must not hold the month's invoice counter
    meanwhile (everyone issuing an invoice would queue behind it), nor report numbers it never had."""
    ctx = make_context(env.settings, env.db)
    ctx.courier.close()
    postgres = env.db.engine.dialect.name == "postgresql"
    issued: list[str] = []

    def issue_meanwhile(_result: RowResult) -> None:
        if not postgres:  # SQLite has one writer: the dry run's rows lock the whole file anyway
            return
        with env.db.engine.connect() as conn, Session(conn) as other:
            other.execute(text("SET LOCAL lock_timeout = '2s'"))
            issued.append(numbering.next_number(other, env.now(), env.settings.seller_timezone))
            other.rollback()

    rows = legacy_rules.read_csv(HEADER + GOOD)
    results = legacy_runner.run(ctx, rows, dry_run=True, on_result=issue_meanwhile)
    assert [(r.status, r.invoice_number) for r in results] == [("imported", None), ("imported", None)]
    assert issued == (["INV/2026/01/00001"] * 2 if postgres else [])
    report = import_csv(env, HEADER + GOOD)  # for real: numbered from 1, the dry run took nothing
    assert [r["invoice_number"] for r in report["results"]] == ["INV/2026/01/00001", "INV/2026/01/00002"]
