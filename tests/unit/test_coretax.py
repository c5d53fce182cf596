"""The Coretax TaxInvoiceBulk of one invoice, without a database (tax/coretax.py): a plan change with an add-on
and a credit for unused time, worked by hand; buyers by their identity; the document read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langganan.invoices.models import Invoice, InvoiceLine
from langganan.invoices.rules import Line, totals
from langganan.invoices.tax import NILAI_LAIN, PLAIN, BaseFraction
from langganan.tax import coretax

SELLER_IDTKU = "0012345678901000000000"


def invoice(buyer: dict[str, str], **overrides: object) -> Invoice:
    lines = [InvoiceLine(position=0, kind="proration_credit", description="Unused time on Growth", quantity=1,
                         unit_amount=-332_667, amount=-332_667),
             InvoiceLine(position=1, kind="proration_charge", description="Remaining time on Pro", quantity=1,
                         unit_amount=666_000, amount=666_000),
             InvoiceLine(position=2, kind="add_on", description="Additional User", quantity=3, unit_amount=50_000,
                         amount=150_000)]
    # price 816.000 - 332.667 = 483.333; DPP ⌊483.333 × 11/12⌋ = ⌊443.055,25⌋ = 443.055; PPN ⌊53.166,6⌋ = 53.166
    values: dict[str, object] = dict(
        id="inv_1", number="INV/2026/01/00007", subtotal=483_333, discount=0, tax_base=443_055, tax=53_166,
        tax_rate_bps=1200, total=536_499, paid_at=datetime(2026, 1, 31, 17, 30, tzinfo=UTC), buyer=buyer,
        lines=lines)
    values.update(overrides)
    return Invoice(**values)


def test_a_plan_change_spreads_its_credit_dpp_and_ppn_over_its_charged_lines() -> None:
    t = coretax.tax_invoice(invoice({"name": "PT A", "npwp": "0023456789123000"}), seller_idtku=SELLER_IDTKU,
                            zone="Asia/Jakarta")
    assert (t.tax_invoice_date, t.trx_code, t.ref_desc) == ("2026-02-01", "04", "INV/2026/01/00007")  # Feb 1 WIB
    pro, seats = t.goods
    # the credit 332.667 over 666.000 : 150.000 -> 271.514,98 : 61.152,02 -> 271.515 and 61.152 (largest remainder)
    assert (pro.price, pro.qty, pro.total_discount, pro.tax_base) == (666_000, 1, 271_515, 394_485)
    assert (seats.price, seats.qty, seats.total_discount, seats.tax_base) == (50_000, 3, 61_152, 88_848)
    # DPP 443.055 over 394.485 : 88.848 -> 361.611,25 : 81.443,75... -> 361.611 and 81.444
    assert (pro.other_tax_base, seats.other_tax_base) == (361_611, 81_444)
    # PPN 53.166 over 361.611 : 81.444 -> 43.393,3 : 9.772,7 -> 43.393 and 9.773
    assert (pro.vat, seats.vat) == (43_393, 9_773)
    assert {(g.opt, g.code, g.unit, g.vat_rate, g.stlg_rate, g.stlg) for g in t.goods} == \
        {("B", "000000", "UM.0033", "12", "0", 0)}


@pytest.mark.parametrize(("buyer", "identity"), [
    ({"npwp": "0023456789123000"}, ("0023456789123000", "TIN", "-", "IDN", "0023456789123000000000")),
    ({"npwp": "0023456789123000", "nitku": "0023456789123000000009"},
     ("0023456789123000", "TIN", "-", "IDN", "0023456789123000000009")),
    ({"tax_id": "02.345.678.9-123.000"}, ("0023456789123000", "TIN", "-", "IDN", "0023456789123000000000")),
    ({"tax_id": "not an NPWP", "nik": "3174051206900003"},
     ("0000000000000000", "National ID", "3174051206900003", "IDN", "000000")),
    ({"passport": "K1234567X", "country": "MY"}, ("0000000000000000", "Passport", "K1234567X", "MYS", "000000")),
    ({"account_id": "acc_9"}, ("0000000000000000", "Other ID", "acc_9", "IDN", "000000")),
])
def test_the_buyer_is_named_by_the_identity_it_has(buyer: dict[str, str], identity: tuple[str, ...]) -> None:
    found = coretax.buyer_identity(buyer)
    assert (found["buyer_tin"], found["buyer_document"], found["buyer_document_number"], found["buyer_country"],
            found["buyer_idtku"]) == identity


def test_a_plain_tax_base_is_transaction_code_01_and_the_document_reads_back() -> None:
    plain = invoice({"name": "Ölçü & <Co>", "address": "Jl. Ä"}, tax_base=483_333, tax_rate_bps=1100, tax=53_166,
                    total=536_499)
    t = coretax.tax_invoice(plain, seller_idtku=SELLER_IDTKU, zone="UTC")
    assert (t.trx_code, t.tax_invoice_date, [g.vat_rate for g in t.goods]) == ("01", "2026-01-31", ["11", "11"])
    assert [g.other_tax_base for g in t.goods] == [g.tax_base for g in t.goods]
    data = coretax.document("0012345678901000", [t, t])
    assert coretax.parse(data) == ("0012345678901000", [t, t])
    assert b"&lt;Co&gt;" in data and "Ölçü".encode() in data


def test_a_file_holds_at_most_1000_and_a_foreign_structure_is_refused() -> None:
    t = coretax.tax_invoice(invoice({"name": "PT A"}), seller_idtku=SELLER_IDTKU, zone="UTC")
    with pytest.raises(ValueError):
        coretax.document("0012345678901000", [t] * 1001)
    good = coretax.document("0012345678901000", [t])
    for broken in (good.replace(b"<TrxCode>04</TrxCode>", b""), good.replace(b"BuyerAdress", b"BuyerAddress"),
                   good.replace(b"<Opt>B</Opt>", b"<Opt>B</Opt><Extra>1</Extra>")):
        with pytest.raises(coretax.StructureError):
            coretax.parse(broken)


def test_an_unpaid_invoice_is_no_tax_invoice() -> None:
    with pytest.raises(ValueError):
        coretax.tax_invoice(invoice({"name": "PT A"}, paid_at=None), seller_idtku=SELLER_IDTKU, zone="UTC")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=6), st.lists(st.integers(0, 10**9), max_size=3),
       st.sampled_from([(1200, NILAI_LAIN), (1100, PLAIN), (1200, PLAIN)]))
def test_the_lines_always_add_up_to_the_invoice(charges: list[int], credits: list[int],
                                                 tax: tuple[int, BaseFraction]) -> None:
    rate, fraction = tax
    lines = [Line("plan", f"c{i}", 1, a, a) for i, a in enumerate(charges)] + \
        [Line("discount", f"d{i}", 1, -c, -c) for i, c in enumerate(credits)]
    sums = totals(lines, rate, fraction)
    if sums.tax == 0:
        return
    inv = Invoice(id="inv_x", number="INV/2026/01/00001", subtotal=sums.subtotal, discount=sums.discount,
                  tax_base=sums.tax_base, tax=sums.tax, tax_rate_bps=rate, total=sums.total,
                  paid_at=datetime(2026, 1, 2, tzinfo=UTC), buyer={"name": "x"},
                  lines=[InvoiceLine(position=i, kind=ln.kind, description=ln.description, quantity=1,
                                     unit_amount=ln.amount, amount=ln.amount) for i, ln in enumerate(lines)])
    goods = coretax.tax_invoice(inv, seller_idtku=SELLER_IDTKU, zone="UTC").goods
    assert sum(g.price * g.qty - g.total_discount for g in goods) == sum(g.tax_base for g in goods) == inv.taxable
    assert sum(g.other_tax_base for g in goods) == sums.tax_base and sum(g.vat for g in goods) == sums.tax
    assert all(0 <= g.total_discount <= g.price * g.qty for g in goods)
    assert all(abs(g.vat - g.other_tax_base * rate / 10_000) < 2 for g in goods)
