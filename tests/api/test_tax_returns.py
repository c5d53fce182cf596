"""Credit notes as returns for Coretax (issue 15): the numbers Coretax gave our tax invoices, recorded one by one
or from its list, and a month's returns register naming for each credit note the tax invoice it corrects, what
it gives back and the step the seller takes (buyer_return / cancel / replace / none). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from langganan.apikeys import service as apikeys
from langganan.app import create_app, prepare
from langganan.console import service as staff
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.errors import Unprocessable
from langganan.kit.taxids import tax_invoice_number_digits
from langganan.tax import numbers
from tests.api.test_portal_security import CSRF_RE, _console_login
from tests.conftest import ADMIN_KEY, BILLING, Env, make_settings

TAXED = {"tax_rate_subscription": 12, "tax_base_subscription": "11/12", "tax_rate_top_up": 12,
         "tax_base_top_up": "11/12"}
NUMBER_A, NUMBER_B, NUMBER_C = "04002600000000001", "04002600000000002", "04002600000000003"


@pytest.fixture
def taxed(database: Database) -> Iterator[Env]:
    settings = make_settings(database, **TAXED)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def customer(env: Env, **identity: Any) -> str:
    account = env.account(billing=False)["id"]
    env.ok(env.put(f"/v1/accounts/{account}/billing-info", {**BILLING, "tax_id": None, **identity}))
    return str(account)


def put_number(env: Env, invoice_id: str, number: str) -> Any:
    return env.client.put(f"/v1/invoices/{invoice_id}/tax-invoice-number", json={"tax_invoice_number": number},
                          headers=env.headers)


def import_numbers(env: Env, text: str) -> Any:
    return env.client.post("/v1/tax-invoices/numbers", content=text.encode(),
                           headers={**env.headers, "Content-Type": "text/csv"})


def register(env: Env, month: str) -> list[dict[str, str]]:
    res = env.get(f"/v1/tax-invoices/returns.csv?month={month}")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(res.text)))


def credit(env: Env, invoice_id: str, **body: Any) -> dict[str, Any]:
    return env.ok(env.post(f"/v1/invoices/{invoice_id}/credit-notes",
                           {"reason": "customer asked", "refund_to": "manual", "reference": "TRF-1", **body}), 201)


def test_tax_invoice_numbers_are_17_digits_with_a_transaction_and_a_status_code() -> None:
    assert tax_invoice_number_digits("04.00.26.000-00000001") == "04002600000000001"
    assert tax_invoice_number_digits("04012600000000009") == "04012600000000009"  # a replacement
    for bad in ("0400260000000001", "040026000000000011", "00002600000000001", "11002600000000001",
                "04022600000000001", "04002600000000O01", "", "٠4002600000000001"):
        assert tax_invoice_number_digits(bad) is None, bad


def test_numbers_recorded_by_hand_and_from_coretax_s_list(taxed: Env) -> None:
    env = taxed
    business = customer(env, company_name="PT Maju", buyer_type="business", npwp="0023456789123000")
    person = customer(env, company_name="Budi Santoso", buyer_type="individual", nik="3174051206900003")
    growth = env.buy(business, "growth")
    starter = env.buy(person, "starter")

    first = put_number(env, growth["id"], "04.00.26.000-00000001")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["invoice_number"], body["tax_invoice_number"], body["replaces"]) == \
        (growth["number"], NUMBER_A, None)
    assert put_number(env, growth["id"], NUMBER_A).status_code == 200  # the same again: unchanged
    taken = put_number(env, starter["id"], NUMBER_A)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "tax_invoice_number_taken"
    other = put_number(env, growth["id"], NUMBER_B)  # a different normal number: refused, nothing changes
    assert other.status_code == 409 and other.json()["error"]["code"] == "tax_invoice_number_recorded"
    bad = put_number(env, growth["id"], "12345")
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "tax_invoice_number"
    assert put_number(env, "inv_nope", NUMBER_B).status_code == 404
    assert env.ok(env.get(f"/v1/invoices/{growth['id']}/tax-invoice-number"))["tax_invoice_number"] == NUMBER_A

    # Coretax's list as exported: semicolons, its own headings, other columns around them.
    listing = ("NPWP Pembeli;Nomor Faktur Pajak;Tanggal Faktur Pajak;Referensi\n"
               f"0023456789123000;{NUMBER_A};2026-01-15;{growth['number']}\n"  # recorded: unchanged
               f"0000000000000000;{NUMBER_B};2026-01-15;{starter['number']}\n"
               f"0000000000000000;{NUMBER_C};2026-01-15;INV/2099/01/99999\n"  # unknown reference
               f"0000000000000000;123;2026-01-15;{starter['number']}\n")  # not a number
    res = import_numbers(env, listing)
    assert res.status_code == 200, res.text
    outcome = res.json()
    assert (outcome["recorded"], outcome["replaced"], outcome["unchanged"]) == (1, 0, 1)
    assert [(p["row"], p["code"]) for p in outcome["problems"]] == \
        [(4, "invoice_not_found"), (5, "invalid_tax_invoice_number")]
    again = import_numbers(env, listing).json()  # re-imported: nothing new
    assert (again["recorded"], again["unchanged"], len(again["problems"])) == (0, 2, 2)

    # A replacement tax invoice (status code 01) takes the place of the number it replaces.
    replaced = import_numbers(env, f"reference,tax_invoice_number\n{starter['number']},04012600000000002\n").json()
    assert replaced["replaced"] == 1
    now = env.ok(env.get(f"/v1/invoices/{starter['id']}/tax-invoice-number"))
    assert (now["tax_invoice_number"], now["replaces"]) == ("04012600000000002", NUMBER_B)

    headerless = import_numbers(env, f"{growth['number']},{NUMBER_A}\n")
    assert headerless.status_code == 422 and headerless.json()["error"]["code"] == "invalid_file"
    assert import_numbers(env, "").status_code == 422
    assert import_numbers(env, 'reference,tax_invoice_number\n"INV\r').status_code == 200  # a lone CR: a row
    with env.db.transaction() as s, pytest.raises(Unprocessable) as refused:  # past csv's field size limit
        numbers.import_csv(s, b"reference,tax_invoice_number\n" + b"x" * 200_000, by="test", now=wall_now())
    assert refused.value.code == "invalid_file"
    wrong_type = env.client.post("/v1/tax-invoices/numbers", json={}, headers=env.headers)
    assert wrong_type.status_code == 415


def test_a_credit_note_or_an_unpaid_invoice_gets_no_number(taxed: Env) -> None:
    person = customer(taxed, company_name="Budi", buyer_type="individual", nik="3174051206900003")
    paid = taxed.buy(person, "growth")
    note = credit(taxed, paid["id"], amount=10_000)
    refused = put_number(taxed, note["id"], NUMBER_A)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_a_tax_invoice"
    taxed.ok(taxed.post(f"/v1/accounts/{person}/subscription/change", {"plan": "pro"}))
    open_ = taxed.ok(taxed.get(f"/v1/invoices?account_id={person}&status=unpaid"))["data"]
    assert open_, "the upgrade's invoice waits for its payment"
    unpaid = put_number(taxed, open_[0]["id"], NUMBER_A)
    assert unpaid.status_code == 409 and unpaid.json()["error"]["code"] == "not_a_tax_invoice"
    with pytest.raises(AssertionError):  # nothing was recorded for either
        taxed.ok(taxed.get(f"/v1/invoices/{open_[0]['id']}/tax-invoice-number"))


def test_an_untaxed_invoice_gets_no_number(env: Env) -> None:
    untaxed = env.buy(env.account()["id"], "growth")  # the default settings charge no PPN
    res = put_number(env, untaxed["id"], NUMBER_A)
    assert res.status_code == 409 and res.json()["error"]["code"] == "not_a_tax_invoice"
    missing = env.get(f"/v1/invoices/{untaxed['id']}/tax-invoice-number")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "tax_invoice_number_not_found"


def test_a_months_credit_notes_as_a_returns_register(taxed: Env) -> None:
    env = taxed
    business = customer(env, company_name="PT Maju", buyer_type="business", npwp="0023456789123000",
                        nitku="0023456789123000000002")
    person = customer(env, company_name="Budi Santoso", buyer_type="individual", nik="3174051206900003")
    other = customer(env, company_name="Siti Aminah", buyer_type="individual", nik="3174054512900004")
    to_business = env.buy(business, "growth")
    to_person = env.buy(person, "growth")
    to_other = env.buy(other, "growth")
    assert (to_other["subtotal"], to_other["tax_base"], to_other["tax"], to_other["total"]) == \
        (499_000, 457_416, 54_889, 553_889)
    env.ok(put_number(env, to_business["id"], NUMBER_A))
    env.ok(put_number(env, to_person["id"], NUMBER_B))

    full_business = credit(env, to_business["id"])
    full_person = credit(env, to_person["id"])
    part_1 = credit(env, to_other["id"], amount=200_000)
    part_2 = credit(env, to_other["id"], amount=150_000)

    rows = {r["credit_note_number"]: r for r in register(env, "2026-01")}
    assert list(rows) == [full_business["number"], full_person["number"], part_1["number"], part_2["number"]]

    b = rows[full_business["number"]]
    assert (b["original_invoice_number"], b["original_tax_invoice_number"], b["transaction_code"]) == \
        (to_business["number"], NUMBER_A, "04")
    assert (b["buyer_tin"], b["buyer_document"], b["buyer_idtku"]) == \
        ("0023456789123000", "TIN", "0023456789123000000002")
    assert (b["price_returned"], b["other_tax_base_returned"], b["vat_returned"], b["vat_rate"]) == \
        ("499000", "457416", "54889", "12")
    assert (b["credited_in_full"], b["remaining_vat"], b["suggested_step"]) == ("yes", "0", "buyer_return")

    p = rows[full_person["number"]]
    assert (p["buyer_tin"], p["buyer_document"], p["buyer_document_number"]) == \
        ("0000000000000000", "National ID", "3174051206900003")
    assert (p["original_tax_invoice_number"], p["suggested_step"]) == (NUMBER_B, "cancel")

    # Partial notes (figures as tests/api/test_credit_notes.py computes them): the first gives back DPP 165.165
    # and PPN 19.819 of Rp200.000; what remains is what a replacement tax invoice carries.
    one, two = rows[part_1["number"]], rows[part_2["number"]]
    assert (one["price_returned"], one["other_tax_base_returned"], one["vat_returned"]) == \
        ("180181", "165165", "19819")
    assert (one["remaining_price"], one["remaining_other_tax_base"], one["remaining_vat"]) == \
        (str(499_000 - 180_181), str(457_416 - 165_165), str(54_889 - 19_819))
    assert (one["credited_in_full"], one["suggested_step"], one["original_tax_invoice_number"]) == \
        ("no", "replace", "")
    assert (two["price_returned"], two["other_tax_base_returned"], two["vat_returned"]) == \
        ("135135", "123874", "14865")
    assert (two["remaining_other_tax_base"], two["remaining_vat"]) == \
        (str(457_416 - 165_165 - 123_874), str(54_889 - 19_819 - 14_865))

    assert register(env, "2026-02") == []
    assert env.get("/v1/tax-invoices/returns.csv?month=2026-13").status_code == 422
    xml = env.get("/v1/tax-invoices/coretax.xml?month=2026-01")
    assert xml.headers["coretax-returns-left-out"] == "4"
    env.assert_books()


def test_an_untaxed_invoices_credit_note_files_nothing(env: Env) -> None:
    paid = env.buy(env.account()["id"], "growth")
    note = credit(env, paid["id"], amount=50_000)
    rows = register(env, "2026-01")
    assert [(r["credit_note_number"], r["suggested_step"], r["vat_returned"]) for r in rows] == \
        [(note["number"], "none", "0")]


def test_only_admin_keys(taxed: Env) -> None:
    with taxed.db.transaction() as s:
        _key, token = apikeys.create(s, role="integration", name="saas", now=wall_now())
    integration = {"Authorization": f"Bearer {token}"}
    paid = taxed.buy(taxed.account()["id"], "growth")
    for method, path in (("GET", "/v1/tax-invoices/returns.csv?month=2026-01"), ("POST", "/v1/tax-invoices/numbers"),
                         ("PUT", f"/v1/invoices/{paid['id']}/tax-invoice-number"),
                         ("GET", f"/v1/invoices/{paid['id']}/tax-invoice-number")):
        res = taxed.client.request(method, path, headers=integration, json={"tax_invoice_number": NUMBER_A})
        assert res.status_code == 403, (method, path)


def csrf_of(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found, "the page carries the CSRF token"
    return found.group(1)


def _console(env: Env, email: str, role: str) -> TestClient:
    with env.db.transaction() as s:
        staff.create_staff(s, email, "Staff", "correct horse battery", wall_now(), role=role)
    client = TestClient(env.client.app)
    assert _console_login(env, client, email, "correct horse battery").status_code == 303
    return client


def test_the_console_tax_page_serves_the_same_files_and_records_numbers(taxed: Env) -> None:
    env = taxed
    person = customer(env, company_name="Budi Santoso", buyer_type="individual", nik="3174051206900003")
    paid = env.buy(person, "growth")
    credit(env, paid["id"], amount=100_000)
    client = _console(env, "fin@example.id", "finance")

    page = client.get("/console/tax?month=2026-01")
    assert page.status_code == 200
    assert 'href="/console/tax/coretax-2026-01-part1.xml"' in page.text and "1 tax invoices in 1 file(s)" in page.text
    xml = client.get("/console/tax/coretax-2026-01-part1.xml")
    assert xml.content == env.get("/v1/tax-invoices/coretax.xml?month=2026-01").content
    register_file = client.get("/console/tax/returns-2026-01.csv")
    assert register_file.content == env.get("/v1/tax-invoices/returns.csv?month=2026-01").content
    assert client.get("/console/tax/coretax-2026-01-part2.xml").status_code == 404
    assert client.get("/console/tax/returns-2026-13.csv").status_code == 404
    assert client.get("/console/tax?month=2026-13").status_code == 422

    token = csrf_of(client.get("/console/tax").text)
    listing = f"Referensi,Nomor Faktur Pajak\n{paid['number']},{NUMBER_A}\nINV/X,{NUMBER_B}\n"
    res = client.post("/console/tax/numbers", data={"csrf_token": token},
                      files={"file": ("faktur.csv", listing.encode(), "text/csv")})
    assert res.status_code == 200 and "Recorded 1, replaced 0, unchanged 0." in res.text and "INV/X" in res.text
    assert env.ok(env.get(f"/v1/invoices/{paid['id']}/tax-invoice-number"))["recorded_by"] == "staff:fin@example.id"
    indonesian = client.get("/console/tax?lang=id")
    assert "Faktur pajak untuk Coretax" in indonesian.text

    support = _console(env, "help@example.id", "support")  # read-only money: no tax files, no upload
    assert support.get("/console/tax?month=2026-01").status_code == 403
    assert support.get("/console/tax/returns-2026-01.csv").status_code == 403
    denied = support.post("/console/tax/numbers", data={"csrf_token": csrf_of(support.get("/console").text)},
                          files={"file": ("faktur.csv", listing.encode(), "text/csv")})
    assert denied.status_code == 403
