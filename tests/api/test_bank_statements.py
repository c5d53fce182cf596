"""Bank statement reconciliation over HTTP on SQLite and PostgreSQL (issue 15): a KlikBCA file whose credit
lines pay invoices by virtual account, by invoice number and by amount; duplicates from re-imports and
overlapping periods change nothing; ambiguous and unmatched lines are held, then assigned by hand; the books
balance throughout (received = applied + held)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from langganan.apikeys import service as apikeys
from langganan.payments.models import Payment, PaymentReceipt, UnappliedPayment
from langganan.statements.models import BankStatement, BankStatementLine
from tests.conftest import Env

HEADER = ("No. rekening : 0613005878\r\nNama : PT CONTOH LANGGANAN DIGITAL\r\nPeriode : 01/01/2026 - 31/01/2026\r\n"
          "Kode Mata Uang : Rp\r\n\r\nTanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\r\n")
FOOTER = "Saldo Awal,:,10000000.00\r\nMutasi Kredit,:,0.00,0\r\nMutasi Debet,:,0.00,0\r\nSaldo Akhir,:,0.00\r\n"


def bca(*rows: tuple[str, str, int, str, int | None]) -> bytes:
    """A KlikBCA individual download: (dd/mm or PEND, description, amount, CR/DB, balance) per row."""
    body = "".join(f"'{day},'{desc},'0000,{amount}.00,{mark},{'' if bal is None else f'{bal}.00'}\r\n"
                   for day, desc, amount, mark, bal in rows)
    return (HEADER + body + FOOTER).encode()


def counts(env: Env) -> tuple[int, ...]:
    with env.db.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0
                     for t in (Payment, PaymentReceipt, UnappliedPayment, BankStatement, BankStatementLine))


def held(env: Env) -> list[tuple[str | None, str, int, str]]:
    with env.db.transaction() as s:
        return [(u.account_id, u.reason, u.amount, u.status)
                for u in s.scalars(select(UnappliedPayment).order_by(UnappliedPayment.created_at, UnappliedPayment.id))]


def upload(env: Env, data: bytes, fmt: str = "bca", **kw: Any) -> Any:
    return env.client.post(f"/v1/bank-statements?format={fmt}", content=data,
                           headers={**kw.pop("headers", env.headers), "Content-Type": "text/csv"}, **kw)


def purchase(env: Env, plan: str, **body: Any) -> dict[str, Any]:
    acc = env.account()
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": plan, **body})
    return dict(res.json()["invoice"] if res.status_code == 200 else env.ok(
        env.get(f"/v1/invoices/{res.json()['error']['invoice_id']}")))


def top_up(env: Env, amount: int) -> dict[str, Any]:
    acc = env.account()
    return dict(env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "conversation", "amount": amount,
                                                                       "payment_method": "bank_transfer"}), 201))


def invoice(env: Env, inv: dict[str, Any]) -> dict[str, Any]:
    return dict(env.ok(env.get(f"/v1/invoices/{inv['id']}")))


def test_a_statement_pays_invoices_by_va_number_and_amount_and_holds_the_rest(env: Env) -> None:
    by_va = purchase(env, "growth")  # a bank transfer purchase: a virtual account
    acc = env.account()
    pm = env.card(acc["id"], "4000000000000002")
    res = env.post(f"/v1/accounts/{acc['id']}/subscription/change",
                   {"plan": "pro", "payment_method": "card", "payment_method_id": pm})
    by_number = invoice(env, {"id": res.json()["error"]["invoice_id"]})  # a declined card: no virtual account
    assert by_number["payment"]["va_number"] is None and by_number["status"] == "unpaid"
    by_amount = top_up(env, 123_000)
    twin_a, twin_b = top_up(env, 250_000), top_up(env, 250_000)
    va = by_va["payment"]["va_number"]
    number = by_number["number"].replace("/", " ")  # written with spaces in the transfer's news
    file = bca(("05/01", f"SWITCHING CR TRANSFER   DR 014 SITI RAHAYU {va}", by_va["total"], "CR", 10_000_000),
               ("06/01", "BIAYA ADM", 10_000, "DB", 9_990_000),
               ("07/01", f"TRSF E-BANKING CR 0701/FTSCY/WS95031 {by_number['total']}.00BUDI {number}",
                by_number["total"], "CR", 11_000_000),
               ("08/01", "KR OTOMATIS LLG-ANTARBANK CV SINAR JAYA", 123_000, "CR", 11_123_000),
               ("09/01", "TRSF E-BANKING CR 0901/FTSCY/WS95031 250000.00ANDI", 250_000, "CR", 11_373_000),
               ("10/01", "SETORAN TUNAI", 777_000, "CR", 12_150_000),
               ("PEND", "SWITCHING CR TRANSFER DR 009 AGUS", 555_000, "CR", None))
    before = counts(env)
    out = env.ok(upload(env, file), 201)
    assert out["summary"] == {"matched": 3, "ambiguous": 1, "no_match": 1}
    lines = {ln["line"]: ln for ln in out["lines"]}
    assert [(n, ln["status"], ln["matched_by"], ln["invoice_id"], ln["amount"]) for n, ln in lines.items()] == [
        (7, "matched", "virtual_account", by_va["id"], by_va["total"]),
        (9, "matched", "invoice_number", by_number["id"], by_number["total"]),
        (10, "matched", "amount", by_amount["id"], 123_000),
        (11, "ambiguous", "amount", None, 250_000),
        (12, "no_match", None, None, 777_000)]
    assert lines[7]["date"] == "2026-01-05" and lines[9]["invoice_number"] == by_number["number"]
    assert sorted(lines[11]["candidates"]) == sorted([twin_a["id"], twin_b["id"]])
    for inv in (by_va, by_number, by_amount):
        assert invoice(env, inv)["status"] == "paid"
    paid = invoice(env, by_number)["payment"]
    assert paid["method"] == "manual" and paid["status"] == "succeeded"
    assert env.subscription(by_va["account_id"])["plan"] == "growth"
    assert env.wallet(by_amount["account_id"])["paid_balance"] == 123_000
    assert invoice(env, twin_a)["status"] == invoice(env, twin_b)["status"] == "unpaid"
    assert held(env) == [(None, "statement_no_match", 250_000, "open"), (None, "statement_no_match", 777_000, "open")]
    env.assert_books()
    assert counts(env)[4] == before[4] + 5
    assert env.ok(env.get(f"/v1/bank-statements/{out['id']}"))["lines"] == out["lines"]

    # The same file again, and a later file overlapping it: what was imported is a duplicate, nothing moves.
    after = counts(env)
    again = env.ok(upload(env, file), 201)
    assert [ln["status"] for ln in again["lines"]] == ["duplicate"] * 5
    with env.db.transaction() as s:
        first_ids = list(s.scalars(select(BankStatementLine.id).where(BankStatementLine.statement_id == out["id"])
                                   .order_by(BankStatementLine.line)))
    assert [ln["duplicate_of"] for ln in again["lines"]] == first_ids
    assert counts(env)[:3] == after[:3]
    overlap = bca(("09/01", "TRSF E-BANKING CR 0901/FTSCY/WS95031 250000.00ANDI", 250_000, "CR", 11_373_000),
                  ("10/01", "SETORAN  TUNAI", 777_000, "CR", 12_150_000),
                  ("11/01", f"SWITCHING CR TRANSFER DR 014 SITI RAHAYU {va}", 50_000, "CR", 12_200_000))
    later = env.ok(upload(env, overlap), 201)
    assert [(ln["status"], ln["outcome"]) for ln in later["lines"]] == [
        ("duplicate", None), ("duplicate", None), ("already_paid", "held_duplicate")]
    assert held(env)[-1] == (by_va["account_id"], "duplicate", 50_000, "open")  # a second transfer: kept
    env.assert_books()

    # By hand: the ambiguous line to one of its invoices, the unmatched one to an invoice it overpays.
    stmt = out["id"]
    refused = env.post(f"/v1/bank-statements/{stmt}/lines/11/assign", {"invoice_id": by_va["id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invoice_not_payable"
    line = env.ok(env.post(f"/v1/bank-statements/{stmt}/lines/11/assign", {"invoice_id": twin_b["id"]}))
    assert (line["status"], line["matched_by"], line["outcome"], line["invoice_id"]) == (
        "matched", "hand", "applied", twin_b["id"])
    assert invoice(env, twin_b)["status"] == "paid" and invoice(env, twin_a)["status"] == "unpaid"
    small = top_up(env, 500_000)
    line = env.ok(env.post(f"/v1/bank-statements/{stmt}/lines/12/assign", {"invoice_id": small["id"]}))
    assert line["status"] == "matched" and invoice(env, small)["status"] == "paid"
    assert held(env)[-1] == (small["account_id"], "overpayment", 277_000, "open")
    assert [h for h in held(env) if h[0] is None] == []
    env.assert_books()
    twice = env.post(f"/v1/bank-statements/{stmt}/lines/12/assign", {"invoice_id": twin_a["id"]})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "line_not_assignable"
    missing = env.post(f"/v1/bank-statements/{stmt}/lines/99/assign", {"invoice_id": twin_a["id"]})
    assert missing.status_code == 404
    env.assert_books()


def test_an_unmatched_line_short_of_the_invoice_it_is_assigned_to_waits_for_the_rest(env: Env) -> None:
    inv = purchase(env, "growth")
    out = env.ok(upload(env, bca(("05/01", "SETORAN TUNAI", 1_000, "CR", 1_000))), 201)
    assert out["lines"][0]["status"] == "no_match"
    line = env.ok(env.post(f"/v1/bank-statements/{out['id']}/lines/7/assign", {"invoice_id": inv["id"]}))
    assert line["outcome"] == "held_underpayment" and invoice(env, inv)["status"] == "unpaid"
    env.assert_books()
    env.pay_va(inv, inv["total"] - 1_000)  # the rest, on its virtual account
    assert invoice(env, inv)["status"] == "paid"
    assert [h[1:] for h in held(env)] == [("underpayment", 1_000, "applied")]
    env.assert_books()


def test_multipart_upload_and_a_generic_csv_with_its_column_mapping(env: Env) -> None:
    inv = top_up(env, 333_000)
    text = (f"Tanggal;Uraian;Debet;Kredit;Saldo\n03/01/2026;TRANSFER DARI YULIANTI {inv['number']};;333.000,00;"
            "1.333.000,00\n04/01/2026;BIAYA ADMIN;6.500,00;;1.326.500,00\n")
    query = "format=generic&date_column=Tanggal&description_column=uraian&credit_column=4&balance_column=Saldo"
    res = env.client.post(f"/v1/bank-statements?{query}", headers=env.headers,
                          files={"file": ("mutasi.csv", text.encode(), "text/csv")})
    out = env.ok(res, 201)
    assert out["filename"] == "mutasi.csv"
    assert [(ln["status"], ln["matched_by"], ln["amount"]) for ln in out["lines"]] == [
        ("matched", "invoice_number", 333_000)]
    assert invoice(env, inv)["status"] == "paid"
    listed = env.ok(env.get("/v1/bank-statements"))["data"]
    assert [s["id"] for s in listed] == [out["id"]]
    no_mapping = env.client.post("/v1/bank-statements?format=generic", headers=env.headers,
                                 files={"file": ("mutasi.csv", text.encode(), "text/csv")})
    assert no_mapping.status_code == 422 and no_mapping.json()["error"]["code"] == "statement_mapping_required"


def test_bad_files_are_refused_whole_and_store_nothing(env: Env) -> None:
    inv = purchase(env, "growth")
    before = counts(env)
    good = f"'05/01,'TRSF {inv['payment']['va_number']},'0000,{inv['total']}.00,CR,1.00\r\n"
    broken = (HEADER + good + "'06/01,'TRSF BUDI,'0000,1500000.50,CR,2.00\r\n").encode()
    res = upload(env, broken)
    assert res.status_code == 422
    err = res.json()["error"]
    assert (err["code"], err["param"]) == ("statement_invalid", "file")
    assert err["message"] == "Line 8: '1500000.50' has a fraction of a rupiah."
    wrong = upload(env, b"Account No,Date,Val. Date,Description,Debit,Credit\n1,01/01/26,01/01/26,X,.00,5\n")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "statement_unrecognized"
    assert "KlikBCA" in wrong.json()["error"]["message"]
    unknown = upload(env, broken, fmt="bri")
    assert unknown.status_code == 422 and unknown.json()["error"]["param"] == "format"
    binary = upload(env, b"PK\x03\x04\x00\x00\x14")  # an Excel file: refused before anything runs
    assert binary.status_code == 400 and binary.json()["error"]["code"] == "invalid_characters"
    short = upload(env, (HEADER + "'06/01,'TRSF BUDI,5.00,CR\r\n").encode())
    assert short.status_code == 422 and short.json()["error"]["message"] == "Line 7: expected a description, " \
        "branch and amount."
    json_body = env.post("/v1/bank-statements?format=bca", {"file": "x"})
    assert json_body.status_code == 415
    assert counts(env) == before and invoice(env, inv)["status"] == "unpaid"
    latin = env.ok(upload(env, (HEADER + "'06/01,'TRSF J\xc9R\xd4ME,'0000,5.00,CR\r\n").encode("cp1252")), 201)
    assert latin["lines"][0]["description"] == "TRSF J\xc9R\xd4ME"  # Excel on Windows saves Windows-1252
    env.assert_books()


def test_integration_keys_may_not_import_read_or_assign(env: Env) -> None:
    with env.db.transaction() as s:
        _, token = apikeys.create(s, role="integration", name="t", now=datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    out = env.ok(upload(env, bca(("05/01", "SETORAN TUNAI", 1_000, "CR", 1_000))), 201)
    inv = top_up(env, 50_000)
    before = counts(env)
    refused = upload(env, bca(("06/01", "SETORAN TUNAI", 2_000, "CR", 3_000)), headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert env.get(f"/v1/bank-statements/{out['id']}", headers=headers).status_code == 403
    assign = env.post(f"/v1/bank-statements/{out['id']}/lines/7/assign", {"invoice_id": inv["id"]}, headers=headers)
    assert assign.status_code == 403
    assert counts(env) == before and invoice(env, inv)["status"] == "unpaid"


def test_a_line_for_a_paid_or_canceled_invoice_is_kept_for_its_account(env: Env) -> None:
    paid = purchase(env, "growth")
    env.pay_va(paid)  # paid by its virtual account's callback before the statement comes
    canceled = top_up(env, 80_000)
    env.ok(env.post(f"/v1/invoices/{canceled['id']}/cancel"))
    out = env.ok(upload(env, bca(("05/01", f"TRSF E-BANKING CR BUDI {paid['number']}", paid["total"], "CR", 1),
                                 ("06/01", f"TRSF E-BANKING CR SITI {canceled['number']}", 80_000, "CR", 2),
                                 ("07/01", f"TRSF E-BANKING CR BUDI {paid['number']}", paid["total"], "CR", 3))), 201)
    # The first line is the transfer the callback already brought: it confirms it and counts nothing again.
    # The second transfer for the same invoice is new money: held for the account as a duplicate (rule 10).
    assert [(ln["status"], ln["matched_by"], ln["invoice_id"], ln["outcome"]) for ln in out["lines"]] == [
        ("already_paid", "invoice_number", paid["id"], "reconciled"),
        ("matched", "invoice_number", canceled["id"], "held_late"),
        ("already_paid", "invoice_number", paid["id"], "held_duplicate")]
    assert held(env) == [(canceled["account_id"], "late", 80_000, "open"),
                         (paid["account_id"], "duplicate", paid["total"], "open")]
    assert invoice(env, canceled)["status"] == "canceled"
    assign = env.post(f"/v1/bank-statements/{out['id']}/lines/8/assign", {"invoice_id": paid["id"]})
    assert assign.status_code == 409 and assign.json()["error"]["code"] == "line_not_assignable"
    env.assert_books()
