"""Render an issued invoice (the API's InvoiceOut as a dict) as an A4 PDF. Pure: dict in, bytes out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from langganan.invoices.models import InvoiceStatus, InvoiceType
from langganan.invoices.pdf_fonts import add_font
from langganan.kit.locales import format_when
from langganan.kit.money import format_money
from langganan.kit.translations import messages

FONT, FALLBACK = "dejavu", "fallback"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FALLBACK_FILE = "DroidSansFallback.ttf"  # CJK glyphs DejaVu lacks; loaded only when the invoice needs it
INK, MUTED, RULE = (33, 37, 41), (108, 117, 125), (206, 212, 218)
SHADE, GREEN = (241, 243, 245), (25, 135, 84)
Color = tuple[int, int, int]


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Fmt:
    lang: str
    tz: ZoneInfo
    currency: str
    texts: Mapping[str, str]  # the catalog of `lang`: labels are its "pdf.<key>" messages

    def label(self, key: str, default: str = "") -> str:
        return self.texts.get(f"pdf.{key}", default)

    def money(self, amount: Any) -> str:
        return format_money(int(amount or 0), self.currency, self.lang)

    def date(self, value: Any, *, with_time: bool = True) -> str:
        """As the portal writes dates in the same language (Babel: 5 Jan 2026, 5 Sept 2026, 5 Agu 2026)."""
        dt = _as_datetime(value)
        if dt is None:
            return ""
        return format_when(dt, self.tz.key, self.lang, "d MMM yyyy HH:mm" if with_time else "d MMM yyyy")

    def period(self, start: Any, end: Any) -> str:
        if _as_datetime(start) is None or _as_datetime(end) is None:
            return ""
        return f"{self.date(start, with_time=False)} – {self.date(end, with_time=False)}"

    def rate(self, bps: int) -> str:
        whole, frac = divmod(bps, 100)
        text = str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")
        return f"{text.replace('.', ',') if self.lang == 'id' else text}%"


class _InvoicePDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.footer_text} {self.page_no()}/{{nb}}", align="C")

    def text_block(self, x: float, w: float, text: Any, *, size: float = 9, bold: bool = False,
                   color: Color = INK, align: str = "L") -> None:
        if not text:
            return
        self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*color)
        self.set_x(x)
        self.multi_cell(w, size * 0.5, str(text), align=align, new_x="LEFT", new_y="NEXT")

    def pair(self, x: float, label: str, value: str, *, widths: tuple[float, float] = (28, 47),
             bold: bool = False, size: float = 9) -> None:
        self.set_x(x)
        self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*(INK if bold else MUTED))
        self.cell(widths[0], size * 0.55, label)
        self.set_text_color(*INK)
        self.multi_cell(widths[1], size * 0.55, value, align="R", new_x="LEFT", new_y="NEXT")

    def rule(self, x1: float = 15, x2: float = 195) -> None:
        self.set_draw_color(*RULE)
        self.line(x1, self.get_y(), x2, self.get_y())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping | list | tuple):
        for item in value.values() if isinstance(value, Mapping) else value:
            yield from _strings(item)


def _load_fonts(pdf: FPDF, invoice: Mapping[str, Any]) -> None:
    """DejaVu, and the CJK fallback when the invoice has a character DejaVu lacks."""
    fonts = {style: add_font(pdf, FONT, style, name) for style, name in FONT_FILES.items()}
    cmap = fonts[""].cmap
    if any(ord(c) not in cmap for s in _strings(invoice) for c in s if not c.isspace()):
        add_font(pdf, FALLBACK, "", FALLBACK_FILE)
        pdf.set_fallback_fonts([FALLBACK], exact_match=False)


def _header(pdf: _InvoicePDF, inv: Mapping[str, Any], seller: Mapping[str, Any], title: str, f: _Fmt) -> None:

    top = pdf.get_y()
    pdf.text_block(15, 100, seller.get("name"), size=13, bold=True)
    pdf.ln(1)
    npwp, nitku = seller.get("npwp"), seller.get("nitku")
    for text in (seller.get("address"), npwp and f"NPWP: {npwp}", nitku and f"NITKU: {nitku}", seller.get("email")):
        pdf.text_block(15, 100, text, size=8.5, color=MUTED)
    left_end = pdf.get_y()
    pdf.set_y(top)
    pdf.text_block(115, 80, title, size=20, bold=True, align="R")
    pdf.ln(1)
    pdf.text_block(115, 80, inv.get("number"), size=10, bold=True, align="R")
    if inv.get("type") == InvoiceType.CREDIT_NOTE and inv.get("refers_to_number"):
        pdf.text_block(115, 80, f.label("for_invoice").format(number=inv["refers_to_number"]), size=9, align="R",
                       color=MUTED)
    pdf.set_y(max(left_end, pdf.get_y()) + 5)
    pdf.rule()
    pdf.ln(5)


def _parties(pdf: _InvoicePDF, inv: Mapping[str, Any], buyer: Mapping[str, Any], f: _Fmt) -> None:
    top = pdf.get_y()
    pdf.text_block(15, 95, f.label("bill_to"), size=8, bold=True, color=MUTED)
    pdf.ln(1)
    pdf.text_block(15, 95, buyer.get("name"), size=10, bold=True)
    contact, tax_id = buyer.get("contact_name"), buyer.get("tax_id")
    city = " ".join(str(buyer[k]) for k in ("city", "postal_code") if buyer.get(k))
    identity = [f"{label}: {buyer[key]}" for key, label in
                (("npwp", "NPWP"), ("nitku", f.label("nitku")), ("nik", f.label("nik")),
                 ("passport", f.label("passport"))) if buyer.get(key)]
    if tax_id and not buyer.get("npwp"):
        identity.insert(0, f"{f.label('tax_id')}: {tax_id}")
    for text in (contact and f"{f.label('attn')} {contact}", buyer.get("email"), buyer.get("phone"),
                 buyer.get("address"), city, buyer.get("country"), *identity):
        pdf.text_block(15, 95, text)
    left_end = pdf.get_y()
    pdf.set_y(top)
    status, kind = str(inv.get("status") or ""), str(inv.get("type") or "")
    credit_note = kind == InvoiceType.CREDIT_NOTE
    if credit_note and status == InvoiceStatus.PAID:
        status = "settled"  # a credit note's money went back: settled, not "paid"
    facts = [
        ("status", f.label(f"s.{status}", status)), ("type", f.label(f"t.{kind}", kind)),
        ("package", str(inv.get("package") or "")),
        ("period", f.period(inv.get("period_start"), inv.get("period_end"))),
        ("issued", f.date(inv.get("issued_at"))), ("due", f.date(inv.get("expires_at"))),
        ("paid", "" if credit_note else f.date(inv.get("paid_at"))),
        ("original", str(inv.get("refers_to_number") or inv.get("original_invoice_id") or "")),
    ]
    for key, value in facts:
        if value:
            pdf.pair(120, f.label(key), value)
    pdf.set_y(max(left_end, pdf.get_y()) + 7)


def _lines(pdf: _InvoicePDF, inv: Mapping[str, Any], f: _Fmt) -> None:
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    heading = FontFace(emphasis="BOLD", fill_color=SHADE)
    with pdf.table(col_widths=(92, 24, 32, 32), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"), v_align="TOP",
                   borders_layout="HORIZONTAL_LINES", headings_style=heading, line_height=4.8,
                   padding=(1.8, 1.5, 1.8, 1.5)) as table:
        head = table.row()
        for key in ("description", "qty", "unit", "amount"):
            head.cell(f.label(key))
        for line in inv.get("lines") or []:
            period = f.period(line.get("period_start"), line.get("period_end"))
            row = table.row()
            row.cell(str(line.get("description") or "") + (f"\n{period}" if period else ""))
            row.cell(str(line.get("quantity") or 0))
            row.cell(f.money(line.get("unit_amount")))
            row.cell(f.money(line.get("amount")))


def _totals(pdf: _InvoicePDF, inv: Mapping[str, Any], f: _Fmt) -> None:
    rows = [(f.label("subtotal"), f.money(inv.get("subtotal")))]
    if inv.get("discount"):
        rows.append((f.label("discount"), f.money(-abs(int(inv["discount"])))))
    bps = int(inv.get("tax_rate_bps") or 0)
    if bps or inv.get("tax"):
        taxable = int(inv.get("subtotal") or 0) - int(inv.get("discount") or 0)
        taxable = taxable if inv.get("type") == InvoiceType.CREDIT_NOTE else max(0, taxable)
        base = int(inv["tax_base"]) if inv.get("tax_base") is not None else taxable
        rows.append((f.label("tax_base_other" if base != taxable else "tax_base"), f.money(base)))
        rows.append((f"{f.label('ppn')} {f.rate(bps)}", f.money(inv.get("tax"))))
    pdf.ln(3)
    if pdf.will_page_break(6 * len(rows) + 12):  # keep the totals together
        pdf.add_page()
    for label, value in rows:
        pdf.pair(115, label, value, widths=(45, 35))
    pdf.ln(1)
    pdf.rule(115)
    pdf.ln(1.5)
    pdf.pair(115, f.label("total"), f.money(inv.get("total")), widths=(45, 35), bold=True, size=11)
    pdf.ln(8)


def _settlement(pdf: _InvoicePDF, inv: Mapping[str, Any], seller: Mapping[str, Any], f: _Fmt) -> None:
    payment: Mapping[str, Any] = inv.get("payment") or {}
    status, number = inv.get("status"), str(inv.get("number") or "")
    if inv.get("type") == InvoiceType.CREDIT_NOTE:
        return  # settled when issued: nothing to pay, no stamp
    if status == InvoiceStatus.PAID:
        pdf.text_block(15, 180, f.label("paid_stamp"), size=18, bold=True, color=GREEN)
        paid_at = f.date(inv.get("paid_at"))
        pdf.text_block(15, 180, paid_at and f.label("paid_on").format(when=paid_at), color=MUTED)
        return
    if status != InvoiceStatus.UNPAID or inv.get("type") == InvoiceType.CREDIT_NOTE:
        return
    steps = []
    if seller.get("bank_account"):
        bank, holder = seller.get("bank_name") or "", seller.get("bank_account_name") or seller.get("name")
        steps.append(f.label("transfer").format(bank=bank, account=seller["bank_account"], holder=holder))
        steps.append(f.label("reference").format(number=number))
    if payment.get("va_number"):
        when = f.date(payment.get("va_expires_at") or inv.get("expires_at"))
        bank = str(payment.get("bank") or "").upper()
        steps.append(f.label("va").format(bank=bank, va=payment["va_number"])
                     + (f.label("pay_before").format(when=when) if when else ""))
    if not steps:
        return
    if pdf.will_page_break(8 + 6 * len(steps)):
        pdf.add_page()
    pdf.text_block(15, 180, f.label("how_to_pay"), size=10, bold=True)
    pdf.ln(1.5)
    for step in steps:
        pdf.text_block(15, 180, f"•  {step}")
        pdf.ln(0.8)


def render_invoice_pdf(
    invoice: Mapping[str, Any], *, locale: str = "id", timezone: str = "Asia/Jakarta"
) -> bytes:
    """An issued invoice as PDF bytes: header, seller/buyer, lines, totals, payment instructions."""
    lang = "id" if locale.lower().replace("-", "_").split("_")[0] == "id" else "en"
    f = _Fmt(lang, ZoneInfo(timezone), str(invoice.get("currency") or "IDR"), messages(lang))
    seller: Mapping[str, Any] = invoice.get("seller") or {}
    number = str(invoice.get("number") or "")
    title = f.label("credit_note" if invoice.get("type") == InvoiceType.CREDIT_NOTE else "invoice")

    pdf = _InvoicePDF(format="A4", unit="mm")
    _load_fonts(pdf, invoice)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(f"{title} {number}")
    pdf.set_author(str(seller.get("name") or ""))
    pdf.set_creator("langganan")
    pdf.set_lang(lang)
    issued = _as_datetime(invoice.get("issued_at"))
    if issued is not None:
        pdf.set_creation_date(issued)  # same invoice, same bytes
    pdf.footer_text = f"{title} {number}  ·  {f.label('page')}"
    pdf.add_page()
    _header(pdf, invoice, seller, title, f)
    _parties(pdf, invoice, invoice.get("buyer") or {}, f)
    _lines(pdf, invoice, f)
    _totals(pdf, invoice, f)
    _settlement(pdf, invoice, seller, f)
    return bytes(pdf.output())
