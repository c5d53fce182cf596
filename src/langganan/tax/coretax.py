"""DJP Coretax's import document for output tax invoices (faktur pajak keluaran), `TaxInvoiceBulk`, as pure
functions: issued invoices in, XML bytes out, and back (`parse`, which the tests use to read an export).

The structure follows DJP's published template ("Sample Faktur PK Template" XML and the Excel template its
converter turns into that XML, pajak.go.id "Template XML dan Converter Excel ke XML"): the seller's TIN (16-digit
NPWP), then a ListOfTaxInvoice of TaxInvoice elements, each with its date, option (Normal), transaction code,
the optional documents, reference and facility stamp, the seller's NITKU, the buyer's identity and its
ListOfGoodService, one GoodService per line with price, quantity, discount, tax base, other tax base, VAT rate
and VAT, and the luxury-goods tax (STLG, always 0 here). Elements in the template's order, empty ones written
empty. What was and was not checked against DJP's own files is in the README ("Tax invoices for Coretax").

How an invoice becomes a TaxInvoice (`tax_invoice`):
- TaxInvoiceDate: the day it was paid in the seller's zone (prepaid: the tax falls due when payment is
  received). RefDesc: the invoice number. TrxCode 04 when the tax base is DPP nilai lain (a part of the
  price), 01 when it is the whole price. AddInfo, CustomDoc, CustomDocMonthYear, FacilityStamp: empty
  (they belong to transaction codes 07 and 08).
- The buyer as copied onto the invoice at issue: an NPWP (or, on invoices from before the NPWP field, a
  `tax_id` that is a valid NPWP) is BuyerDocument TIN with BuyerDocumentNumber "-" and BuyerIDTKU its NITKU
  (the head office's when none was given); else a NIK is "National ID", a passport "Passport", and nothing at
  all "Other ID" with the account id as the document number, each with BuyerTin 0000000000000000 and
  BuyerIDTKU 000000.
- Lines: each charged line (amount > 0) is a GoodService of services (Opt B, code 000000, unit UM.0033
  "Lainnya"). What the invoice takes off (discount lines, proration credits) is spread over them as
  TotalDiscount, and the invoice's own DPP and PPN over them as OtherTaxBase and VAT, each in proportion
  (invoices.tax.allocate), so the lines add up to exactly what the invoice says: sum of TaxBase = price after
  discounts, sum of OtherTaxBase = DPP, sum of VAT = PPN.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo

from langganan.invoices.models import Invoice
from langganan.invoices.tax import allocate
from langganan.kit.taxids import HEAD_OFFICE, head_office_nitku, npwp_digits

MAX_INVOICES_PER_FILE = 1000  # Coretax imports at most 1.000 tax invoices from one file
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = "TaxInvoice.xsd"  # as DJP's sample names it (DJP publishes no XSD)
NO_TIN = "0000000000000000"
TRX_PLAIN = "01"  # to buyers who are not VAT collectors, tax base = the price
TRX_OTHER_BASE = "04"  # DPP nilai lain
SERVICES, GENERIC_CODE, UNIT_OTHER = "B", "000000", "UM.0033"
# ISO 3166 alpha-2 (billing information) to alpha-3 (Coretax's REF-KodeNegara) for the countries buyers
# most often come from; another country is written as given and shown in the export's review header.
ALPHA3 = {
    "ID": "IDN", "SG": "SGP", "MY": "MYS", "TH": "THA", "PH": "PHL", "VN": "VNM", "BN": "BRN", "KH": "KHM",
    "LA": "LAO", "MM": "MMR", "TL": "TLS", "AU": "AUS", "NZ": "NZL", "JP": "JPN", "KR": "KOR", "CN": "CHN",
    "HK": "HKG", "TW": "TWN", "IN": "IND", "AE": "ARE", "SA": "SAU", "QA": "QAT", "NL": "NLD", "DE": "DEU",
    "FR": "FRA", "GB": "GBR", "IE": "IRL", "CH": "CHE", "SE": "SWE", "US": "USA", "CA": "CAN", "BR": "BRA",
}


@dataclass(frozen=True)
class GoodService:
    opt: str
    code: str
    name: str
    unit: str
    price: int
    qty: int
    total_discount: int
    tax_base: int
    other_tax_base: int
    vat_rate: str
    vat: int
    stlg_rate: str = "0"
    stlg: int = 0


@dataclass(frozen=True)
class TaxInvoice:
    tax_invoice_date: str  # YYYY-MM-DD
    tax_invoice_opt: str
    trx_code: str
    add_info: str
    custom_doc: str
    custom_doc_month_year: str
    ref_desc: str
    facility_stamp: str
    seller_idtku: str
    buyer_tin: str
    buyer_document: str
    buyer_country: str
    buyer_document_number: str
    buyer_name: str
    buyer_adress: str  # (sic: DJP's element name)
    buyer_email: str
    buyer_idtku: str
    goods: tuple[GoodService, ...]


# Element names in the template's order, beside the dataclass fields they come from.
INVOICE_ELEMENTS = (
    ("TaxInvoiceDate", "tax_invoice_date"), ("TaxInvoiceOpt", "tax_invoice_opt"), ("TrxCode", "trx_code"),
    ("AddInfo", "add_info"), ("CustomDoc", "custom_doc"), ("CustomDocMonthYear", "custom_doc_month_year"),
    ("RefDesc", "ref_desc"), ("FacilityStamp", "facility_stamp"), ("SellerIDTKU", "seller_idtku"),
    ("BuyerTin", "buyer_tin"), ("BuyerDocument", "buyer_document"), ("BuyerCountry", "buyer_country"),
    ("BuyerDocumentNumber", "buyer_document_number"), ("BuyerName", "buyer_name"),
    ("BuyerAdress", "buyer_adress"), ("BuyerEmail", "buyer_email"), ("BuyerIDTKU", "buyer_idtku"),
)
GOOD_ELEMENTS = (
    ("Opt", "opt"), ("Code", "code"), ("Name", "name"), ("Unit", "unit"), ("Price", "price"), ("Qty", "qty"),
    ("TotalDiscount", "total_discount"), ("TaxBase", "tax_base"), ("OtherTaxBase", "other_tax_base"),
    ("VATRate", "vat_rate"), ("VAT", "vat"), ("STLGRate", "stlg_rate"), ("STLG", "stlg"),
)
INTEGER_FIELDS = {f.name for f in fields(GoodService) if f.type == "int"}


def rate_text(rate_bps: int) -> str:
    """A rate in basis points as Coretax writes a percent: 1200 -> '12', 1150 -> '11.5'."""
    whole, frac = divmod(rate_bps, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


def buyer_identity(buyer: Mapping[str, Any]) -> dict[str, str]:
    """BuyerTin, BuyerDocument, BuyerDocumentNumber, BuyerCountry and BuyerIDTKU of an invoice's buyer."""
    country = str(buyer.get("country") or "ID").upper()
    npwp = buyer.get("npwp") or npwp_digits(str(buyer.get("tax_id") or ""))
    if npwp:
        return {"buyer_tin": npwp, "buyer_document": "TIN", "buyer_document_number": "-", "buyer_country": "IDN",
                "buyer_idtku": str(buyer.get("nitku") or head_office_nitku(npwp))}
    if buyer.get("nik"):
        document, number, country = "National ID", str(buyer["nik"]), "ID"
    elif buyer.get("passport"):
        document, number = "Passport", str(buyer["passport"])
    else:
        document, number = "Other ID", str(buyer.get("account_id") or "-")
    return {"buyer_tin": NO_TIN, "buyer_document": document, "buyer_document_number": number,
            "buyer_country": ALPHA3.get(country, country), "buyer_idtku": HEAD_OFFICE}


def goods(invoice: Invoice) -> tuple[GoodService, ...]:
    """The invoice's charged lines, with its reductions, DPP and PPN spread over them (module docstring)."""
    charged = [ln for ln in sorted(invoice.lines, key=lambda ln: ln.position) if ln.amount > 0]
    amounts = [ln.amount for ln in charged]
    discounts = allocate(sum(amounts) - invoice.taxable, amounts)
    bases = [amount - discount for amount, discount in zip(amounts, discounts, strict=True)]
    other_bases = allocate(invoice.tax_base_amount, bases)
    vats = allocate(invoice.tax, other_bases)
    out = []
    for ln, discount, base, other, vat in zip(charged, discounts, bases, other_bases, vats, strict=True):
        whole = ln.quantity > 0 and ln.quantity * ln.unit_amount == ln.amount
        out.append(GoodService(
            opt=SERVICES, code=GENERIC_CODE, name=ln.description, unit=UNIT_OTHER,
            price=ln.unit_amount if whole else ln.amount, qty=ln.quantity if whole else 1,
            total_discount=discount, tax_base=base, other_tax_base=other, vat_rate=rate_text(invoice.tax_rate_bps),
            vat=vat))
    return tuple(out)


def tax_invoice(invoice: Invoice, *, seller_idtku: str, zone: str) -> TaxInvoice:
    """One paid invoice as a Coretax TaxInvoice (module docstring)."""
    if invoice.paid_at is None:
        raise ValueError(f"invoice {invoice.number} is not paid")
    buyer = invoice.buyer or {}
    address = ", ".join(str(buyer[k]) for k in ("address", "city", "postal_code") if buyer.get(k))
    return TaxInvoice(
        tax_invoice_date=invoice.paid_at.astimezone(ZoneInfo(zone)).date().isoformat(),
        tax_invoice_opt="Normal",
        trx_code=TRX_PLAIN if invoice.tax_base_amount == invoice.taxable else TRX_OTHER_BASE,
        add_info="", custom_doc="", custom_doc_month_year="", ref_desc=invoice.number, facility_stamp="",
        seller_idtku=seller_idtku, buyer_name=str(buyer.get("name") or ""), buyer_adress=address,
        buyer_email=str(buyer.get("email") or ""), goods=goods(invoice), **buyer_identity(buyer))


def document(tin: str, invoices: Sequence[TaxInvoice]) -> bytes:
    """The TaxInvoiceBulk XML (UTF-8, with its declaration) of at most MAX_INVOICES_PER_FILE invoices."""
    if len(invoices) > MAX_INVOICES_PER_FILE:
        raise ValueError(f"Coretax takes at most {MAX_INVOICES_PER_FILE} tax invoices a file")
    root = ET.Element("TaxInvoiceBulk", {"xmlns:xsi": XSI, "xsi:noNamespaceSchemaLocation": SCHEMA_LOCATION})
    ET.SubElement(root, "TIN").text = tin
    listing = ET.SubElement(root, "ListOfTaxInvoice")
    for inv in invoices:
        node = ET.SubElement(listing, "TaxInvoice")
        for name, attr in INVOICE_ELEMENTS:
            ET.SubElement(node, name).text = getattr(inv, attr) or None
        lines = ET.SubElement(node, "ListOfGoodService")
        for good in inv.goods:
            item = ET.SubElement(lines, "GoodService")
            for name, attr in GOOD_ELEMENTS:
                ET.SubElement(item, name).text = str(getattr(good, attr))
    ET.indent(root, space="  ")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


class StructureError(ValueError):
    """An XML document that is not a TaxInvoiceBulk as `document` writes it."""


def _children(node: ET.Element, names: Sequence[str]) -> list[str]:
    found = [child.tag for child in node]
    if found != list(names):
        raise StructureError(f"{node.tag} holds {found}, expected {list(names)}")
    return [child.text or "" for child in node]


def parse(data: bytes) -> tuple[str, list[TaxInvoice]]:
    """A TaxInvoiceBulk read back: the seller's TIN and its invoices. Every element must be there, in the
    template's order, and nothing else (StructureError otherwise)."""
    root = ET.fromstring(data)
    if root.tag != "TaxInvoiceBulk" or root.get(f"{{{XSI}}}noNamespaceSchemaLocation") != SCHEMA_LOCATION:
        raise StructureError(f"the root is {root.tag} {root.attrib}, not TaxInvoiceBulk")
    tin, _ = _children(root, ("TIN", "ListOfTaxInvoice"))
    invoices = []
    for node in root[1]:
        if node.tag != "TaxInvoice":
            raise StructureError(f"ListOfTaxInvoice holds {node.tag}")
        values = _children(node, [name for name, _ in INVOICE_ELEMENTS] + ["ListOfGoodService"])
        goods_out = []
        for item in node[len(INVOICE_ELEMENTS)]:
            if item.tag != "GoodService":
                raise StructureError(f"ListOfGoodService holds {item.tag}")
            texts = _children(item, [name for name, _ in GOOD_ELEMENTS])
            values_of: dict[str, Any] = {attr: int(text) if attr in INTEGER_FIELDS else text
                                         for (_, attr), text in zip(GOOD_ELEMENTS, texts, strict=True)}
            goods_out.append(GoodService(**values_of))
        invoices.append(TaxInvoice(goods=tuple(goods_out), **{
            attr: text for (_, attr), text in zip(INVOICE_ELEMENTS, values[:-1], strict=True)}))
    return tin, invoices
