"""PPN since 2025 over HTTP (issue 15, tax): 12% on DPP nilai lain 11/12 on invoices, the buyer's tax identity in
billing information, and a month's tax invoices as DJP Coretax's TaxInvoiceBulk XML, 1.000 a file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from langganan.apikeys import service as apikeys
from langganan.app import create_app, prepare
from langganan.invoices.models import Invoice, InvoiceLine
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.tax import coretax
from tests.conftest import ADMIN_KEY, BILLING, Env, make_settings
from tests.unit.test_invoice_pdf import pdf_text

TAXED = {"tax_rate_subscription": 12, "tax_base_subscription": "11/12", "tax_rate_top_up": 12,
         "tax_base_top_up": "11/12", "seller_nitku": "0012345678901000000001"}
SELLER_TIN, SELLER_IDTKU = "0012345678901000", "0012345678901000000001"  # the default NPWP, a branch's NITKU
XML_PATH = "/v1/tax-invoices/coretax.xml"


@pytest.fixture
def taxed(database: Database) -> Iterator[Env]:
    settings = make_settings(database, **TAXED)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def billing(**identity: Any) -> dict[str, Any]:
    return {**BILLING, "tax_id": None, **identity}


def test_an_invoice_shows_dpp_ppn_and_total(taxed: Env) -> None:
    acc = taxed.account()
    invoice = taxed.buy(acc["id"], "growth")
    # Growth Rp499.000: DPP = ⌊499.000 × 11/12⌋ = ⌊457.416,67⌋ = 457.416; PPN = ⌊12% × 457.416⌋ = ⌊54.889,92⌋
    # = 54.889 (11% of the price would be 54.890: rounded down, the buyer pays Rp1 less, never more)
    assert (invoice["subtotal"], invoice["discount"], invoice["tax_base"], invoice["tax_rate_bps"]) == \
        (499_000, 0, 457_416, 1200)
    assert (invoice["tax"], invoice["total"], invoice["status"]) == (54_889, 553_889, "paid")
    assert invoice["seller"]["nitku"] == SELLER_IDTKU
    top_up = taxed.top_up(acc["id"], "conversation", 100_000)
    # Rp100.000: DPP ⌊91.666,67⌋ = 91.666; PPN ⌊10.999,92⌋ = 10.999; the wallet gets the Rp100.000 paid for
    assert (top_up["tax_base"], top_up["tax"], top_up["total"]) == (91_666, 10_999, 110_999)
    _, text = pdf_text(taxed.get(f"/v1/invoices/{invoice['id']}/pdf").content)
    for expected in ("DPP Nilai Lain Rp457.416", "PPN 12% Rp54.889", "Total Rp553.889"):
        assert expected in text, expected
    taxed.assert_books()


def test_an_untaxed_invoice_has_the_whole_price_as_its_tax_base(env: Env) -> None:
    invoice = env.buy(env.account()["id"], "growth")
    assert (invoice["tax_base"], invoice["tax"], invoice["total"]) == (499_000, 0, 499_000)


def test_billing_information_takes_a_checked_tax_identity(env: Env) -> None:
    acc = env.account()
    body = billing(buyer_type="business", npwp="01.234.567.8-012.000", nitku="0012345678012000000007")
    info = env.ok(env.put(f"/v1/accounts/{acc['id']}/billing-info", body))["billing_info"]
    assert (info["buyer_type"], info["npwp"], info["nitku"], info["nik"]) == \
        ("business", "0012345678012000", "0012345678012000000007", None)
    invoice = env.buy(acc["id"], "growth")
    assert (invoice["buyer"]["npwp"], invoice["buyer"]["nitku"]) == ("0012345678012000", "0012345678012000000007")
    person = env.ok(env.put(f"/v1/accounts/{acc['id']}/billing-info",
                            billing(buyer_type="individual", nik="3174 0512 0690 0003")))["billing_info"]
    assert (person["buyer_type"], person["nik"], person["npwp"]) == ("individual", "3174051206900003", None)
    assert env.ok(env.get(f"/v1/invoices/{invoice['id']}"))["buyer"]["npwp"] == "0012345678012000"  # as issued


@pytest.mark.parametrize(("identity", "code", "param"), [
    ({"npwp": "01.234.567.8-012"}, "invalid_npwp", "npwp"),  # 12 digits
    ({"npwp": "00123456780120001"}, "invalid_npwp", "npwp"),  # 17
    ({"npwp": "0012345678O12000"}, "invalid_npwp", "npwp"),  # a letter O
    ({"npwp": "000000000000000"}, "invalid_npwp", "npwp"),
    ({"nik": "317405120690000"}, "invalid_nik", "nik"),  # 15 digits
    ({"nik": "3174053206900003"}, "invalid_nik", "nik"),  # born on the 32nd
    ({"nik": "3174051213900003"}, "invalid_nik", "nik"),  # in month 13
    ({"npwp": "0012345678012000", "nitku": "00123456780120000001"}, "invalid_nitku", "nitku"),  # 20 digits
    ({"npwp": "0012345678012000", "nitku": "0098765432109876000000"}, "invalid_nitku", "nitku"),  # not its NPWP
    ({"nitku": "0012345678012000000000"}, "invalid_nitku", "nitku"),  # without the NPWP
    ({"buyer_type": "business"}, "npwp_required", "npwp"),
    ({"buyer_type": "foreign"}, "passport_required", "passport"),
    ({"buyer_type": "foreign", "passport": "A1"}, "invalid_passport", "passport"),
])
def test_a_tax_identity_that_is_not_one_is_a_422_naming_the_field(env: Env, identity: dict[str, str], code: str,
                                                                  param: str) -> None:
    acc = env.account()
    res = env.put(f"/v1/accounts/{acc['id']}/billing-info", billing(**identity))
    assert res.status_code == 422, res.text
    assert (res.json()["error"]["code"], res.json()["error"]["param"]) == (code, param)
    bad_type = env.put(f"/v1/accounts/{acc['id']}/billing-info", billing(buyer_type="government"))
    assert bad_type.status_code == 422 and "buyer_type" in bad_type.text


def _element_texts(node: ET.Element) -> dict[str, str]:
    return {child.tag: child.text or "" for child in node if len(child) == 0}


def test_a_months_tax_invoices_export_as_coretax_xml(taxed: Env) -> None:
    business = taxed.account(billing=False)["id"]
    taxed.ok(taxed.put(f"/v1/accounts/{business}/billing-info",
                       billing(company_name="PT Maju & Jaya <Tbk>", buyer_type="business", npwp="0023456789123000",
                               nitku="0023456789123000000002")))
    person = taxed.account(billing=False)["id"]
    taxed.ok(taxed.put(f"/v1/accounts/{person}/billing-info",
                       billing(company_name="Budi Santoso", buyer_type="individual", nik="3174051206900003")))
    legacy = taxed.account()["id"]  # only the free-text tax_id of BILLING, which is a valid NPWP
    foreign = taxed.account(billing=False)["id"]
    taxed.ok(taxed.put(f"/v1/accounts/{foreign}/billing-info",
                       billing(company_name="Tan Ah Kow", buyer_type="foreign", passport="k1234567x",
                               country="SG")))
    nobody = taxed.account(billing=False)["id"]
    taxed.ok(taxed.put(f"/v1/accounts/{nobody}/billing-info", billing(company_name="Warung Tanpa NPWP")))
    first = taxed.buy(business, "growth")
    taxed.buy(person, "starter")
    taxed.buy(legacy, "growth")
    taxed.buy(foreign, "starter")
    taxed.buy(nobody, "starter")
    taxed.top_up(person, "broadcast", 50_000)
    taxed.ok(taxed.post(f"/v1/accounts/{legacy}/subscription/change", {"plan": "pro"}))  # unpaid: not exported
    taxed.advance(days=10)  # Jan 25
    upgrade = taxed.buy(business, "pro")  # prorated: a credit for the unused Growth days
    taxed.advance(days=10)  # Feb 4 (Jakarta): next month's
    taxed.buy(nobody, "growth")

    res = taxed.get(f"{XML_PATH}?month=2026-01")
    assert res.status_code == 200 and res.headers["content-type"].startswith("application/xml")
    assert (res.headers["coretax-part"], res.headers["coretax-parts"], res.headers["coretax-invoices"]) == \
        ("1", "1", "7")
    assert res.headers["coretax-returns-left-out"] == "0" and "link" not in res.headers
    assert res.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")

    # The structure, element by element, as ElementTree reads it.
    root = ET.fromstring(res.content)
    assert root.tag == "TaxInvoiceBulk"
    assert root.attrib == {"{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation": "TaxInvoice.xsd"}
    assert [c.tag for c in root] == ["TIN", "ListOfTaxInvoice"] and root[0].text == SELLER_TIN
    invoices = list(root[1])
    assert len(invoices) == 7 and {i.tag for i in invoices} == {"TaxInvoice"}
    order = ["TaxInvoiceDate", "TaxInvoiceOpt", "TrxCode", "AddInfo", "CustomDoc", "CustomDocMonthYear", "RefDesc",
             "FacilityStamp", "SellerIDTKU", "BuyerTin", "BuyerDocument", "BuyerCountry", "BuyerDocumentNumber",
             "BuyerName", "BuyerAdress", "BuyerEmail", "BuyerIDTKU", "ListOfGoodService"]
    good_order = ["Opt", "Code", "Name", "Unit", "Price", "Qty", "TotalDiscount", "TaxBase", "OtherTaxBase",
                  "VATRate", "VAT", "STLGRate", "STLG"]
    for node in invoices:
        assert [c.tag for c in node] == order
        assert all(g.tag == "GoodService" and [c.tag for c in g] == good_order for g in node[-1])
    by_ref = {_element_texts(node)["RefDesc"]: node for node in invoices}

    growth = by_ref[first["number"]]
    assert _element_texts(growth) == {
        "TaxInvoiceDate": "2026-01-15", "TaxInvoiceOpt": "Normal", "TrxCode": "04", "AddInfo": "", "CustomDoc": "",
        "CustomDocMonthYear": "", "RefDesc": first["number"], "FacilityStamp": "", "SellerIDTKU": SELLER_IDTKU,
        "BuyerTin": "0023456789123000", "BuyerDocument": "TIN", "BuyerCountry": "IDN", "BuyerDocumentNumber": "-",
        "BuyerName": "PT Maju & Jaya <Tbk>", "BuyerAdress": "Jl. Gatot Subroto No. 10, Jakarta, 12930",
        "BuyerEmail": "finance@tokomaju.id", "BuyerIDTKU": "0023456789123000000002"}
    (line,) = growth[-1]
    assert _element_texts(line) == {
        "Opt": "B", "Code": "000000", "Name": "Growth (monthly) subscription", "Unit": "UM.0033", "Price": "499000",
        "Qty": "1", "TotalDiscount": "0", "TaxBase": "499000", "OtherTaxBase": "457416", "VATRate": "12",
        "VAT": "54889", "STLGRate": "0", "STLG": "0"}

    # Read back whole: every invoice of the month says what its invoice says.
    tin, parsed = coretax.parse(res.content)
    assert tin == SELLER_TIN
    with taxed.db.transaction() as s:
        rows = {i.number: i for i in s.scalars(select(Invoice).where(Invoice.status == "paid"))}
        for tax_invoice in parsed:
            inv = rows[tax_invoice.ref_desc]
            assert inv.paid_at is not None and inv.paid_at.month == 1
            assert sum(g.price * g.qty - g.total_discount for g in tax_invoice.goods) == inv.taxable
            assert sum(g.tax_base for g in tax_invoice.goods) == inv.taxable
            assert sum(g.other_tax_base for g in tax_invoice.goods) == inv.tax_base == inv.tax_base_amount
            assert sum(g.vat for g in tax_invoice.goods) == inv.tax
            assert all(g.vat <= g.other_tax_base * 12 // 100 + 1 for g in tax_invoice.goods)
    identities = {t.buyer_name: (t.buyer_tin, t.buyer_document, t.buyer_document_number, t.buyer_country,
                                 t.buyer_idtku) for t in parsed}
    assert identities["Budi Santoso"] == ("0000000000000000", "National ID", "3174051206900003", "IDN", "000000")
    assert identities["PT Toko Maju Jaya"] == ("0012345678012000", "TIN", "-", "IDN", "0012345678012000000000")
    assert identities["Tan Ah Kow"] == ("0000000000000000", "Passport", "K1234567X", "SGP", "000000")
    assert identities["Warung Tanpa NPWP"] == ("0000000000000000", "Other ID", nobody, "IDN", "000000")
    pro = next(t for t in parsed if t.ref_desc == upgrade["number"])
    assert pro.tax_invoice_date == "2026-01-25" and len(pro.goods) == 1 and pro.goods[0].total_discount > 0
    assert [t.ref_desc for t in parsed] == sorted(
        (t.ref_desc for t in parsed), key=lambda n: rows[n].paid_at)  # in the order they were paid
    taxed.assert_books()

    feb = taxed.get(f"{XML_PATH}?month=2026-02")
    assert feb.headers["coretax-invoices"] == "1"
    empty = taxed.get(f"{XML_PATH}?month=2025-12")
    assert (empty.status_code, empty.headers["coretax-parts"], empty.headers["coretax-invoices"]) == (200, "1", "0")
    assert coretax.parse(empty.content) == (SELLER_TIN, [])


def test_a_month_of_more_than_1000_tax_invoices_is_split_into_parts(taxed: Env) -> None:
    acc = taxed.account()["id"]
    paid = taxed.buy(acc, "growth")
    with taxed.db.transaction() as s:
        original = s.get(Invoice, paid["id"])
        assert original is not None and original.paid_at is not None
        for n in range(1, 1001):  # 1.000 more paid in January, each a second later
            copy = Invoice(**{c.key: getattr(original, c.key) for c in Invoice.__table__.columns})
            copy.id, copy.number = f"inv_bulk{n:05d}", f"BULK/{n:05d}"
            copy.paid_at = original.paid_at + timedelta(seconds=n)
            copy.lines = [InvoiceLine(account_id=acc, position=0, kind="plan", description="Growth (monthly)",
                                      quantity=1,
                                      unit_amount=499_000, amount=499_000)]
            s.add(copy)
    parts = []
    for part in (1, 2):
        res = taxed.get(f"{XML_PATH}?month=2026-01&part={part}")
        assert res.status_code == 200
        assert (res.headers["coretax-part"], res.headers["coretax-parts"], res.headers["coretax-invoices"]) == \
            (str(part), "2", "1001")
        parts.append([t.ref_desc for t in coretax.parse(res.content)[1]])
        if part == 1:
            assert res.headers["link"] == f'<{XML_PATH}?month=2026-01&part=2>; rel="next"'
    assert [len(p) for p in parts] == [1000, 1]
    assert parts[0][0] == paid["number"] and parts[1] == ["BULK/01000"]  # in the order paid, none twice
    beyond = taxed.get(f"{XML_PATH}?month=2026-01&part=3")
    assert beyond.status_code == 404 and beyond.json()["error"]["code"] == "part_not_found"


def test_only_admin_keys_export_and_the_month_is_checked(taxed: Env) -> None:
    with taxed.db.transaction() as s:
        _key, token = apikeys.create(s, role="integration", name="saas", now=wall_now())
    denied = taxed.get(f"{XML_PATH}?month=2026-01", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    assert taxed.get(f"{XML_PATH}?month=2026-01", headers={}).status_code == 401
    for month in ("2026-13", "2026-1", "26-01", "2026/01", "0000-01"):
        res = taxed.get(f"{XML_PATH}?month={month}")
        assert res.status_code == 422 and res.json()["error"]["param"] == "month", month
    assert taxed.get(f"{XML_PATH}").status_code == 422
    assert taxed.get(f"{XML_PATH}?month=2026-01&part=0").status_code == 422


def test_the_export_follows_the_sellers_zone(taxed: Env) -> None:
    invoice = taxed.buy(taxed.account()["id"], "starter")  # 2026-01-15 10:00 in Jakarta
    assert taxed.settings.seller_timezone == "Asia/Jakarta"
    taxed.advance(to="2026-01-31T17:30:00+00:00")  # already Feb 1 in Jakarta
    late = taxed.buy(taxed.account()["id"], "starter")
    jan = [t.ref_desc for t in coretax.parse(taxed.get(f"{XML_PATH}?month=2026-01").content)[1]]
    feb = coretax.parse(taxed.get(f"{XML_PATH}?month=2026-02").content)[1]
    assert jan == [invoice["number"]] and [t.ref_desc for t in feb] == [late["number"]]
    assert feb[0].tax_invoice_date == "2026-02-01"
