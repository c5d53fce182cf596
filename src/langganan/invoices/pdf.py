"""Render an issued invoice (the API's InvoiceOut as a dict) as an A4 PDF. Pure: dict in, bytes out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.resources import as_file, files
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from langganan.kit.money import format_money

FONT = "dejavu"
FALLBACK = "fallback"  # CJK glyphs DejaVu lacks; registered only when the invoice needs it
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FALLBACK_FILE = "DroidSansFallback.ttf"
INK, MUTED, LINE = (33, 37, 41), (108, 117, 125), (206, 212, 218)
PAID_GREEN = (25, 135, 84)

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "invoice": "INVOICE", "credit_note": "CREDIT NOTE", "from": "Dari", "bill_to": "Tagihan kepada",
        "status": "Status", "type": "Jenis", "package": "Paket", "period": "Periode", "issued": "Diterbitkan",
        "due": "Jatuh tempo", "paid": "Dibayar", "original": "Invoice asal", "attn": "u.p.", "tax_id": "NPWP",
        "description": "Deskripsi", "qty": "Kuantitas", "unit": "Harga satuan", "amount": "Jumlah",
        "subtotal": "Subtotal", "discount": "Diskon", "total": "Total", "how_to_pay": "Cara pembayaran",
        "transfer": "Transfer bank ke {bank} {account} a.n. {holder}",
        "reference": "Cantumkan nomor {number} pada berita transfer.",
        "va": "Virtual account ({bank}): {va}", "pay_before": ", bayar sebelum {when}",
        "paid_stamp": "LUNAS", "paid_on": "Dibayar {when}", "page": "Halaman",
    },
    "en": {
        "invoice": "INVOICE", "credit_note": "CREDIT NOTE", "from": "From", "bill_to": "Bill to",
        "status": "Status", "type": "Type", "package": "Package", "period": "Period", "issued": "Issued",
        "due": "Due", "paid": "Paid", "original": "Original invoice", "attn": "Attn:", "tax_id": "Tax ID",
        "description": "Description", "qty": "Qty", "unit": "Unit price", "amount": "Amount",
        "subtotal": "Subtotal", "discount": "Discount", "total": "Total", "how_to_pay": "How to pay",
        "transfer": "Bank transfer to {bank} account {account} ({holder})",
        "reference": "Put {number} in the transfer reference.",
        "va": "Virtual account ({bank}): {va}", "pay_before": ", pay before {when}",
        "paid_stamp": "PAID", "paid_on": "Paid on {when}", "page": "Page",
    },
}
STATUSES = {
    "id": {"unpaid": "Belum dibayar", "paid": "Lunas", "expired": "Kedaluwarsa", "canceled": "Dibatalkan",
           "failed": "Gagal", "waived": "Dibebaskan"},
    "en": {"unpaid": "Unpaid", "paid": "Paid", "expired": "Expired", "canceled": "Canceled",
           "failed": "Failed", "waived": "Waived"},
}
TYPES = {
    "id": {"subscription": "Langganan", "renewal": "Perpanjangan", "plan_change": "Perubahan paket",
           "add_on": "Add-on", "top_up": "Top up", "credit_note": "Nota kredit"},
    "en": {"subscription": "Subscription", "renewal": "Renewal", "plan_change": "Plan change",
           "add_on": "Add-on", "top_up": "Top-up", "credit_note": "Credit note"},
}
MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


class _InvoicePDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.footer_text}  ·  {self.page_no()}/{{nb}}", align="C")


def _lang(locale: str) -> str:
    return "id" if locale.lower().replace("-", "_").split("_")[0] == "id" else "en"


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _fmt_date(value: Any, lang: str, tz: ZoneInfo, *, with_time: bool = True) -> str:
    dt = _as_datetime(value)
    if dt is None:
        return ""
    dt = dt.astimezone(tz)
    text = f"{dt.day} {MONTHS[lang][dt.month - 1]} {dt.year}"
    return f"{text} {dt:%H:%M}" if with_time else text


def _fmt_period(start: Any, end: Any, lang: str, tz: ZoneInfo) -> str:
    if _as_datetime(start) is None or _as_datetime(end) is None:
        return ""
    return f"{_fmt_date(start, lang, tz, with_time=False)} – {_fmt_date(end, lang, tz, with_time=False)}"


def _fmt_rate(bps: int, lang: str) -> str:
    whole, frac = divmod(bps, 100)
    text = str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")
    return f"{text.replace('.', ',') if lang == 'id' else text}%"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _load_fonts(pdf: FPDF, stack: ExitStack, invoice: Mapping[str, Any]) -> None:
    fonts = files("langganan") / "invoices" / "fonts"
    for style, name in FONT_FILES.items():
        pdf.add_font(FONT, style, stack.enter_context(as_file(fonts / name)))
    cmap = pdf.fonts[FONT].cmap
    needs_fallback = any(ord(c) not in cmap for text in _strings(invoice) for c in text if not c.isspace())
    if needs_fallback and (fonts / FALLBACK_FILE).is_file():
        pdf.add_font(FALLBACK, "", stack.enter_context(as_file(fonts / FALLBACK_FILE)))
        pdf.set_fallback_fonts([FALLBACK], exact_match=False)


def _write(pdf: FPDF, x: float, w: float, text: str, *, size: float = 9, bold: bool = False,
           color: tuple[int, int, int] = INK, align: str = "L") -> None:
    if not text:
        return
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*color)
    pdf.set_x(x)
    pdf.multi_cell(w, size * 0.5, text, align=align, new_x="LEFT", new_y="NEXT")


def _pair(pdf: FPDF, x: float, label: str, value: str, *, label_w: float = 28, value_w: float = 47,
          bold: bool = False, size: float = 9) -> None:
    pdf.set_x(x)
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*(INK if bold else MUTED))
    pdf.cell(label_w, size * 0.55, label)
    pdf.set_text_color(*INK)
    pdf.multi_cell(value_w, size * 0.55, value, align="R", new_x="LEFT", new_y="NEXT")


def render_invoice_pdf(invoice: Mapping[str, Any], *, locale: str = "id", timezone: str = "Asia/Jakarta") -> bytes:
    """An issued invoice as PDF bytes: header, seller/buyer, lines, totals, payment instructions."""
    lang, tz = _lang(locale), ZoneInfo(timezone)
    lb = LABELS[lang]
    cur = str(invoice.get("currency") or "IDR")

    def money(amount: Any) -> str:
        return format_money(int(amount or 0), cur, lang)

    def date(value: Any) -> str:
        return _fmt_date(value, lang, tz)

    seller: Mapping[str, Any] = invoice.get("seller") or {}
    buyer: Mapping[str, Any] = invoice.get("buyer") or {}
    payment: Mapping[str, Any] = invoice.get("payment") or {}
    number, status = str(invoice.get("number") or ""), str(invoice.get("status") or "")
    kind = str(invoice.get("type") or "")
    title = lb["credit_note"] if kind == "credit_note" else lb["invoice"]

    pdf = _InvoicePDF(format="A4", unit="mm")
    with ExitStack() as stack:
        _load_fonts(pdf, stack, invoice)
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=18)
        pdf.set_title(f"{title} {number}")
        pdf.set_author(str(seller.get("name") or ""))
        pdf.set_creator("langganan")
        pdf.set_lang(lang)
        issued = _as_datetime(invoice.get("issued_at"))
        if issued is not None:
            pdf.set_creation_date(issued)  # deterministic output for the same invoice
        pdf.footer_text = f"{title} {number}  ·  {lb['page']}"
        pdf.add_page()

        # Header: seller on the left, title and number on the right.
        top = pdf.get_y()
        _write(pdf, 15, 100, str(seller.get("name") or ""), size=13, bold=True)
        pdf.ln(1)
        for text in (seller.get("address"), seller.get("npwp") and f"NPWP: {seller['npwp']}", seller.get("email")):
            _write(pdf, 15, 100, str(text or ""), size=8.5, color=MUTED)
        left_end = pdf.get_y()
        pdf.set_y(top)
        _write(pdf, 115, 80, title, size=20, bold=True, align="R")
        pdf.ln(1)
        _write(pdf, 115, 80, number, size=10, bold=True, align="R")
        pdf.set_y(max(left_end, pdf.get_y()) + 5)
        pdf.set_draw_color(*LINE)
        pdf.line(15, pdf.get_y(), 195, pdf.get_y())
        pdf.ln(5)

        # Buyer on the left, invoice facts on the right.
        top = pdf.get_y()
        _write(pdf, 15, 95, lb["bill_to"].upper(), size=7.5, bold=True, color=MUTED)
        pdf.ln(1)
        _write(pdf, 15, 95, str(buyer.get("name") or ""), size=10, bold=True)
        city = " ".join(str(buyer[k]) for k in ("city", "postal_code") if buyer.get(k))
        for text in (buyer.get("contact_name") and f"{lb['attn']} {buyer['contact_name']}", buyer.get("email"),
                     buyer.get("phone"), buyer.get("address"), city, buyer.get("country"),
                     buyer.get("tax_id") and f"{lb['tax_id']}: {buyer['tax_id']}"):
            _write(pdf, 15, 95, str(text or ""))
        left_end = pdf.get_y()
        pdf.set_y(top)
        facts = [
            (lb["status"], STATUSES[lang].get(status, status)),
            (lb["type"], TYPES[lang].get(kind, kind)),
            (lb["package"], str(invoice.get("package") or "")),
            (lb["period"], _fmt_period(invoice.get("period_start"), invoice.get("period_end"), lang, tz)),
            (lb["issued"], date(invoice.get("issued_at"))),
            (lb["due"], date(invoice.get("expires_at"))),
            (lb["paid"], date(invoice.get("paid_at"))),
            (lb["original"], str(invoice.get("original_invoice_id") or "")),
        ]
        for label, value in facts:
            if value:
                _pair(pdf, 120, label, value)
        pdf.set_y(max(left_end, pdf.get_y()) + 7)

        # Lines.
        pdf.set_font(FONT, "", 9)
        pdf.set_text_color(*INK)
        pdf.set_draw_color(*LINE)
        heading = FontFace(emphasis="BOLD", fill_color=(241, 243, 245), color=INK)
        with pdf.table(col_widths=(98, 20, 31, 31), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                       borders_layout="HORIZONTAL_LINES", headings_style=heading, line_height=4.8,
                       padding=(1.8, 1.5, 1.8, 1.5)) as table:
            head = table.row()
            for key in ("description", "qty", "unit", "amount"):
                head.cell(lb[key])
            for line in invoice.get("lines") or []:
                period = _fmt_period(line.get("period_start"), line.get("period_end"), lang, tz)
                row = table.row()
                row.cell(str(line.get("description") or "") + (f"\n{period}" if period else ""))
                row.cell(str(line.get("quantity") or 0))
                row.cell(money(line.get("unit_amount")))
                row.cell(money(line.get("amount")))

        # Totals, kept together on one page.
        totals = [(lb["subtotal"], money(invoice.get("subtotal")))]
        if invoice.get("discount"):
            totals.append((lb["discount"], money(-abs(int(invoice["discount"])))))
        bps = int(invoice.get("tax_rate_bps") or 0)
        if bps or invoice.get("tax"):
            totals.append((f"PPN {_fmt_rate(bps, lang)}", money(invoice.get("tax"))))
        pdf.ln(3)
        if pdf.will_page_break(6 * len(totals) + 12):
            pdf.add_page()
        for label, value in totals:
            _pair(pdf, 115, label, value, label_w=45, value_w=35)
        pdf.ln(1)
        pdf.line(115, pdf.get_y(), 195, pdf.get_y())
        pdf.ln(1.5)
        _pair(pdf, 115, lb["total"], money(invoice.get("total")), label_w=45, value_w=35, bold=True, size=11)
        pdf.ln(8)

        # Payment instructions or the paid note.
        if status == "unpaid" and kind != "credit_note":
            steps = []
            if seller.get("bank_account"):
                steps.append(lb["transfer"].format(bank=seller.get("bank_name") or "", account=seller["bank_account"],
                                                   holder=seller.get("bank_account_name") or seller.get("name") or ""))
                steps.append(lb["reference"].format(number=number))
            if payment.get("va_number"):
                when = date(payment.get("va_expires_at") or invoice.get("expires_at"))
                steps.append(lb["va"].format(bank=str(payment.get("bank") or "").upper(), va=payment["va_number"])
                             + (lb["pay_before"].format(when=when) if when else ""))
            if steps:
                if pdf.will_page_break(8 + 6 * len(steps)):
                    pdf.add_page()
                _write(pdf, 15, 180, lb["how_to_pay"], size=10, bold=True)
                pdf.ln(1.5)
                for step in steps:
                    _write(pdf, 15, 180, f"•  {step}")
                    pdf.ln(0.8)
        elif status == "paid":
            if pdf.will_page_break(20):
                pdf.add_page()
            _write(pdf, 15, 180, lb["paid_stamp"], size=18, bold=True, color=PAID_GREEN)
            _write(pdf, 15, 180, lb["paid_on"].format(when=date(invoice.get("paid_at"))) if invoice.get("paid_at")
                   else "", color=MUTED)
        return bytes(pdf.output())
