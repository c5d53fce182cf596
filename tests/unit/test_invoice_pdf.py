"""Invoice PDF: a real PDF whose text carries the invoice detail, in Indonesian or English."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from langganan.invoices import pdf_fonts
from langganan.invoices.pdf import render_invoice_pdf

BUYER_NAME = "Toko Kué Ñyonya 李"
LONG_SEAT_LINE = "Extra seats for the support team"


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sample_invoice(**overrides: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "id": "inv_01", "number": "INV/2026/11/00042", "account_id": "acc_01", "subscription_id": "sub_01",
        "type": "subscription", "status": "unpaid", "currency": "IDR", "package": "Growth (monthly)",
        "lines": [
            {"description": "Growth plan (monthly)", "kind": "plan", "quantity": 1, "unit_amount": 1_000_000,
             "amount": 1_000_000, "period_start": _at(2026, 10, 31, 17), "period_end": _at(2026, 11, 30, 17)},
            {"description": LONG_SEAT_LINE, "kind": "add_on", "quantity": 3, "unit_amount": 50_000,
             "amount": 150_000, "period_start": None, "period_end": None},
            {"description": "Proration credit", "kind": "proration", "quantity": 1, "unit_amount": -3_500,
             "amount": -3_500, "period_start": None, "period_end": None},
        ],
        "subtotal": 1_146_500, "discount": 50_000, "tax": 138_000, "tax_rate_bps": 1100, "total": 1_234_500,
        "period_start": _at(2026, 10, 31, 17), "period_end": _at(2026, 11, 30, 17),
        "issued_at": _at(2026, 11, 22, 7, 5), "expires_at": _at(2026, 11, 29, 7, 5), "paid_at": None,
        "seller": {"name": "PT Langganan Nusantara", "address": "Jl. Jend. Sudirman Kav. 52, Jakarta 12190",
                   "npwp": "01.234.567.8-012.000", "email": "billing@langganan.id", "bank_name": "BCA",
                   "bank_account": "1234567890", "bank_account_name": "PT Langganan Nusantara"},
        "buyer": {"account_id": "acc_01", "name": BUYER_NAME, "contact_name": "Siti Rahayu",
                  "email": "siti@example.com", "phone": "+62 812 3456 7890", "address": "Jl. Pemuda No. 12",
                  "city": "Surabaya", "postal_code": "60271", "country": "Indonesia",
                  "tax_id": "02.345.678.9-123.000"},
        "original_invoice_id": None,
        "payment": {"id": "pay_01", "method": "bank_transfer", "status": "pending", "amount": 1_234_500,
                    "bank": "bca", "va_number": "3935812345678901", "va_expires_at": _at(2026, 11, 23, 7, 5),
                    "failure_code": None},
    }
    invoice.update(overrides)
    return invoice


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def test_unpaid_invoice_in_indonesian() -> None:
    data = render_invoice_pdf(sample_invoice())
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert pages == 1
    for expected in (
        "INVOICE", "INV/2026/11/00042", BUYER_NAME, "PT Langganan Nusantara", "NPWP: 01.234.567.8-012.000",
        "Growth plan (monthly)", LONG_SEAT_LINE, "Proration credit", "1 Nov 2026 – 1 Des 2026",
        "Rp1.000.000", "Rp150.000", "-Rp3.500", "Rp1.146.500", "-Rp50.000", "Rp138.000", "Rp1.234.500",
        "Tagihan kepada", "Deskripsi", "Kuantitas", "Harga satuan", "Jumlah", "Subtotal", "Diskon", "PPN 11%",
        "Total", "Belum dibayar", "Langganan", "Diterbitkan 22 Nov 2026 14:05",
        "Jatuh tempo 29 Nov 2026 14:05", "Surabaya 60271", "NPWP: 02.345.678.9-123.000", "Cara pembayaran",
        "Transfer bank ke BCA 1234567890 a.n. PT Langganan Nusantara",
        "Virtual account (BCA): 3935812345678901, bayar sebelum 23 Nov 2026 14:05",
    ):
        assert expected in text, expected
    assert "LUNAS" not in text
    assert "Description" not in text


def test_unpaid_invoice_in_english() -> None:
    _, text = pdf_text(render_invoice_pdf(sample_invoice(), locale="en"))
    for expected in (
        "INV/2026/11/00042", BUYER_NAME, "Bill to", "Description", "Qty", "Unit price", "Amount", "Discount",
        "Issued 22 Nov 2026 14:05", "Due 29 Nov 2026 14:05", "Unpaid", "Subscription", "Rp1,234,500",
        "How to pay", "Virtual account (BCA): 3935812345678901, pay before 23 Nov 2026 14:05",
    ):
        assert expected in text, expected
    for indonesian in ("Tagihan kepada", "Deskripsi", "Harga satuan", "Diterbitkan", "Jatuh tempo"):
        assert indonesian not in text


def test_paid_invoice_shows_paid_note_instead_of_payment_instructions() -> None:
    invoice = sample_invoice(status="paid", paid_at=_at(2026, 11, 23, 2, 0), payment=None)
    _, text = pdf_text(render_invoice_pdf(invoice))
    assert "LUNAS" in text
    assert "Dibayar 23 Nov 2026 09:00" in text
    assert "Cara pembayaran" not in text
    assert "3935812345678901" not in text
    _, english = pdf_text(render_invoice_pdf(invoice, locale="en"))
    assert "PAID" in english
    assert "Paid on 23 Nov 2026 09:00" in english


def test_credit_note_title_and_negative_amounts() -> None:
    lines = [{"description": "Refund of unused Growth days", "kind": "credit", "quantity": 1,
              "unit_amount": -350_000, "amount": -350_000, "period_start": None, "period_end": None}]
    invoice = sample_invoice(type="credit_note", status="paid", lines=lines, subtotal=-350_000, discount=0,
                             tax=-38_500, total=-388_500, original_invoice_id="inv_00", payment=None)
    _, text = pdf_text(render_invoice_pdf(invoice, locale="en"))
    assert "CREDIT NOTE" in text
    assert "-Rp350,000" in text  # written as English writes numbers
    assert "-Rp388,500" in text
    assert "Discount" not in text
    assert "How to pay" not in text


def test_dates_follow_the_timezone_and_accept_json_strings() -> None:
    invoice = sample_invoice(issued_at="2026-11-22T07:05:00Z", expires_at="2026-11-29T07:05:00+00:00")
    _, text = pdf_text(render_invoice_pdf(invoice, locale="en", timezone="UTC"))
    assert "Issued 22 Nov 2026 07:05" in text
    assert "Due 29 Nov 2026 07:05" in text


def test_dates_are_written_as_the_portal_writes_them_in_each_language() -> None:
    invoice = sample_invoice(issued_at="2026-09-22T07:05:00Z", expires_at="2026-08-29T07:05:00Z")
    _, english = pdf_text(render_invoice_pdf(invoice, locale="en", timezone="UTC"))
    _, indonesian = pdf_text(render_invoice_pdf(invoice, locale="id", timezone="UTC"))
    assert "Issued 22 Sept 2026 07:05" in english and "Due 29 Aug 2026 07:05" in english  # Babel's en_GB, as pages
    assert "Diterbitkan 22 Sep 2026 07:05" in indonesian and "Jatuh tempo 29 Agu 2026 07:05" in indonesian


def test_tax_rate_with_fraction_and_missing_buyer_details() -> None:
    buyer = {"account_id": "acc_01", "name": "Budi", "contact_name": None, "email": None, "phone": None,
             "address": None, "city": None, "postal_code": None, "country": None, "tax_id": None}
    _, text = pdf_text(render_invoice_pdf(sample_invoice(tax_rate_bps=1150, buyer=buyer)))
    assert "PPN 11,5%" in text
    assert "Budi" in text


def test_ppn_on_dpp_nilai_lain_shows_dpp_ppn_and_total_in_both_languages() -> None:
    # Growth Rp499.000: DPP nilai lain ⌊499.000 × 11/12⌋ = 457.416; PPN ⌊12% × 457.416⌋ = 54.889
    lines = [{"description": "Growth (monthly)", "kind": "plan", "quantity": 1, "unit_amount": 499_000,
              "amount": 499_000, "period_start": None, "period_end": None}]
    buyer = {**sample_invoice()["buyer"], "tax_id": None, "npwp": "0023456789123000",
             "nitku": "0023456789123000000001"}
    seller = {**sample_invoice()["seller"], "nitku": "0012345678012000000000"}
    invoice = sample_invoice(lines=lines, subtotal=499_000, discount=0, tax_base=457_416, tax=54_889,
                             tax_rate_bps=1200, total=553_889, buyer=buyer, seller=seller)
    _, text = pdf_text(render_invoice_pdf(invoice))
    for expected in ("DPP Nilai Lain Rp457.416", "PPN 12% Rp54.889", "Total Rp553.889", "NPWP: 0023456789123000",
                     "NITKU: 0023456789123000000001", "NITKU: 0012345678012000000000"):
        assert expected in text, expected
    _, english = pdf_text(render_invoice_pdf(invoice, locale="en"))
    for expected in ("Other tax base (DPP) Rp457,416", "VAT (PPN) 12% Rp54,889", "Total Rp553,889"):
        assert expected in english, expected


def test_a_tax_base_that_is_the_whole_price_is_shown_as_dpp() -> None:
    _, text = pdf_text(render_invoice_pdf(sample_invoice()))  # no tax_base: invoices from before it was stored
    assert "DPP Rp1.096.500" in text and "DPP Nilai Lain" not in text  # subtotal 1.146.500 - discount 50.000
    _, english = pdf_text(render_invoice_pdf(sample_invoice(tax_base=1_096_500), locale="en"))
    assert "Tax base (DPP) Rp1,096,500" in english


def test_same_invoice_renders_the_same_bytes() -> None:
    invoice = sample_invoice(buyer={**sample_invoice()["buyer"], "name": "Toko Kue"})
    assert render_invoice_pdf(invoice) == render_invoice_pdf(invoice)


def _read_by_fpdf2(pdf: FPDF, family: str, style: str, name: str) -> Any:
    pdf.add_font(family, style, str(files("langganan") / "invoices" / "fonts" / name))
    return pdf.fonts[f"{family}{style}"]


@pytest.mark.parametrize("buyer", ["PT Toko Maju", BUYER_NAME], ids=["dejavu", "with-cjk-fallback"])
def test_fonts_read_once_give_the_bytes_of_fonts_read_by_fpdf2_for_each_document(
        buyer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    invoices = [sample_invoice(buyer={**sample_invoice()["buyer"], "name": name}) for name in ("Åsa", buyer)]
    cached = [render_invoice_pdf(invoice) for invoice in invoices]  # a second document after another's glyphs
    monkeypatch.setattr("langganan.invoices.pdf.add_font", _read_by_fpdf2)
    assert cached == [render_invoice_pdf(invoice) for invoice in invoices]
    assert pdf_fonts.font_bytes.cache_info().currsize >= 2


def test_long_descriptions_and_many_lines_span_pages() -> None:
    long_description = ("Layanan pendukung integrasi sistem kasir dan gudang " * 8)[:300]
    lines = [
        {"description": long_description if i % 10 == 0 else f"Add-on item number {i}", "kind": "add_on",
         "quantity": i + 1, "unit_amount": 25_000, "amount": 25_000 * (i + 1),
         "period_start": _at(2026, 10, 31, 17), "period_end": _at(2026, 11, 30, 17)}
        for i in range(40)
    ]
    data = render_invoice_pdf(sample_invoice(lines=lines))
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert pages >= 2
    assert "Add-on item number 39" in text
    assert "".join(long_description.split()) in "".join(text.split())
    assert "Rp1.234.500" in text
    assert f"Halaman {pages}/{pages}" in text
