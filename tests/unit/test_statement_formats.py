"""Bank statement parsers (statements/formats.py) on real-looking files (tests/fixtures/statements: the banks'
layouts, made-up numbers and names), amounts written either way, and statement matching (matching.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langganan.statements.formats import (
    ColumnMapping,
    DateOrder,
    Format,
    StatementInvalid,
    decode,
    parse,
    parse_amount,
    parse_date,
)
from langganan.statements.matching import Candidates, Target, Verdict, Via, decide, invoice_numbers_in

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "statements"


def read(name: str, fmt: Format, mapping: ColumnMapping | None = None):  # type: ignore[no-untyped-def]
    return parse(fmt, decode((FIXTURES / name).read_bytes()), mapping)


def test_klikbca_individual_download_credits_only_with_year_from_the_period() -> None:
    st_ = read("bca_personal.csv", Format.BCA)
    assert st_.account == "0613005878"
    assert [(ln.line, ln.date, ln.amount, ln.balance) for ln in st_.lines] == [
        (7, date(2026, 11, 2), 1_665_000, 26_665_000),
        (9, date(2026, 11, 5), 333_000, 26_988_000),
        (10, date(2026, 11, 9), 2_775_000, 29_763_000),
        (12, date(2026, 11, 28), 1_234, 28_264_234)]  # debits, the pending row and the footer left out
    assert st_.lines[0].description.startswith("TRSF E-BANKING CR 0211/FTSCY/WS95031")
    assert "INV/2026/11/00042" in st_.lines[0].description
    assert st_.lines[0].raw.startswith("'02/11,'TRSF")
    assert len({ln.checksum for ln in st_.lines}) == 4


def test_klikbca_english_download_and_bisnis_with_the_mark_in_the_amount() -> None:
    en = read("bca_personal_en.csv", Format.BCA)
    assert en.account is None
    assert [(ln.date, ln.amount) for ln in en.lines] == [(date(2027, 1, 3), 807_400), (date(2027, 1, 4), 1_110_000)]
    bisnis = read("bca_bisnis.csv", Format.BCA_BISNIS)
    assert [(ln.line, ln.date, ln.amount, ln.balance) for ln in bisnis.lines] == [
        (3, date(2026, 12, 1), 3_330_000, None), (4, date(2026, 12, 2), 149_000, None),
        (5, date(2026, 12, 3), 149_000, None)]


def test_mandiri_download_joins_descriptions_and_reads_two_digit_years() -> None:
    m = read("mandiri.csv", Format.MANDIRI)
    assert m.account == "1370012345678"
    assert [(ln.date, ln.amount) for ln in m.lines] == [(date(2026, 12, 1), 453_684), (date(2026, 12, 15), 5_550_000)]
    assert "CV BERKAH SENTOSA" in m.lines[0].description
    assert "INV/2026/12/00011" in m.lines[1].description and "WLST1e621e894f708e" in m.lines[1].description


def test_generic_csv_by_header_names_or_column_numbers() -> None:
    by_name = read("generic.csv", Format.GENERIC, ColumnMapping(date="tanggal", description="Uraian",
                                                                 credit="KREDIT", balance="saldo"))
    assert [(ln.date, ln.amount, ln.balance) for ln in by_name.lines] == [
        (date(2026, 12, 3), 1_665_000, 11_665_000), (date(2026, 12, 7), 333_000, 11_991_500)]
    by_number = read("generic.csv", Format.GENERIC, ColumnMapping(date="1", description="2", credit="4",
                                                                   balance="5"))
    assert [ln.checksum for ln in by_number.lines] == [ln.checksum for ln in by_name.lines]
    signed = parse(Format.GENERIC, "date,amount,memo\n2026-12-01,-50.000,fee\n2026-12-02,\"1,500,000.00\",INV x\n"
                   "2026-12-03,25.000 DB,out\n", ColumnMapping(date="date", description="memo", amount="amount",
                                                               date_order=DateOrder.YMD))
    assert [(ln.date, ln.amount) for ln in signed.lines] == [(date(2026, 12, 2), 1_500_000)]
    with pytest.raises(StatementInvalid, match="no column 'nominal'"):
        read("generic.csv", Format.GENERIC, ColumnMapping(date="tanggal", description="uraian", amount="nominal"))


def test_the_same_line_in_overlapping_files_has_the_same_checksum_and_look_alikes_in_one_file_do_not() -> None:
    head = "Tanggal Transaksi,Keterangan,Cabang,Jumlah\n"
    a = "01/12/2026,\"TRSF CR ANDI\",\"0000\",\"100,000.00 CR\"\n"
    b = "02/12/2026,\"TRSF CR BUDI\",\"0000\",\"200,000.00 CR\"\n"
    first = parse(Format.BCA_BISNIS, head + a + a + b)
    second = parse(Format.BCA_BISNIS, head + a + a + b + "03/12/2026,\"TRSF CR CITRA\",\"0000\",\"5.000 CR\"\n")
    assert len({ln.checksum for ln in first.lines}) == 3  # two real transfers that look alike stay two
    assert [ln.checksum for ln in second.lines[:3]] == [ln.checksum for ln in first.lines]
    spaced = parse(Format.BCA_BISNIS, head + a.replace("TRSF CR ANDI", "trsf  cr   andi"))
    assert spaced.lines[0].checksum == first.lines[0].checksum  # description normalized
    mandiri = parse(Format.MANDIRI, "Account No,Date,Description,Debit,Credit\n1,01/12/26,TRSF CR ANDI,.00,100000\n")
    assert mandiri.lines[0].checksum != first.lines[0].checksum  # another account's line


@pytest.mark.parametrize(("fmt", "text", "message"), [
    (Format.BCA, "hello,world\n1,2\n", "no header row"),
    (Format.BCA, "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\n'02/11,'X,'0000,10.00,CR,1.00\n",
     "Line 2: '02/11' has no year"),
    (Format.BCA_BISNIS, "Tanggal Transaksi,Keterangan,Cabang,Jumlah\n31/02/2026,X,0000,\"1,000.00 CR\"\n",
     "Line 2: '31/02/2026' is not a date"),
    (Format.BCA_BISNIS, "Tanggal Transaksi,Keterangan,Cabang,Jumlah\n01/02/2026,X,0000,\"1.500.000,50 CR\"\n",
     "Line 2: '1.500.000,50' has a fraction of a rupiah"),
    (Format.BCA_BISNIS, "Tanggal Transaksi,Keterangan,Cabang,Jumlah\n01/02/2026,X,0000,\"1,000.00\"\n",
     "no CR or DB mark"),
    (Format.MANDIRI, "Tanggal,Keterangan\n", "no header row"),
    (Format.MANDIRI, "Account No,Date,Description,Debit,Credit\n1,01/12/26,X,.00,abc\n",
     "Line 2: 'abc' is not an amount"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_the_line(fmt: Format, text: str, message: str) -> None:
    with pytest.raises(StatementInvalid) as caught:
        parse(fmt, text)
    assert message in caught.value.message


def test_binary_files_are_not_text() -> None:
    with pytest.raises(StatementInvalid, match="not text"):
        decode(b"PK\x03\x04\x00\x00")
    assert decode("Tanggal,Ket\n01/12/2026,Pembayaran Ã\n".encode("cp1252", errors="replace")).startswith("Tanggal")


@pytest.mark.parametrize(("written", "rupiah"), [
    ("1.500.000,00", 1_500_000), ("1,500,000.00", 1_500_000), ("1500000", 1_500_000), ("1500000.00", 1_500_000),
    ("1.500.000", 1_500_000), ("1,500,000", 1_500_000), ("1.500", 1_500), ("Rp 15.000", 15_000), ("Rp. 15.000", 15_000),
    (".00", 0), ("0,00", 0), ("-25.000", -25_000), ("(25.000)", -25_000), ("12,0", 12)])
def test_amounts_written_either_way(written: str, rupiah: int) -> None:
    assert parse_amount(written) == rupiah


@pytest.mark.parametrize("written", ["1.500.000,50", "1,500,000.05", "12,5", "1.50", "abc", "", "1.5000.000",
                                     "1,50,000", "1.500,000.00", "--5"])
def test_fractions_of_a_rupiah_and_non_numbers_are_refused(written: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(written)


def _id(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@given(st.integers(min_value=0, max_value=10**15), st.booleans(), st.booleans())
def test_any_whole_amount_reads_back_in_both_notations(n: int, indonesian: bool, cents: bool) -> None:
    written = (_id(n) + (",00" if cents else "")) if indonesian else (f"{n:,}" + (".00" if cents else ""))
    assert parse_amount(written) == n
    assert parse_amount("-" + written) == -n


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=99), st.booleans())
def test_any_fraction_of_a_rupiah_is_refused(n: int, fraction: int, indonesian: bool) -> None:
    written = f"{_id(n)},{fraction:02d}" if indonesian else f"{n:,}.{fraction:02d}"
    with pytest.raises(ValueError, match="fraction"):
        parse_amount(written)


def test_dates() -> None:
    assert parse_date("02/11/26") == parse_date("02/11/2026") == parse_date("02-11-2026") == date(2026, 11, 2)
    assert parse_date("2026-11-02", DateOrder.YMD) == date(2026, 11, 2)
    assert parse_date("02/11", year=2026) == date(2026, 11, 2)
    for bad in ("2026-11-02", "32/01/2026", "1/2/3/4", "today"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_invoice_numbers_written_many_ways() -> None:
    assert invoice_numbers_in("TRSF INV/2026/11/00042 BUDI") == ["INV/2026/11/00042"]
    assert invoice_numbers_in("inv 2026 11 42 dan INV-2026-11-00043") == ["INV/2026/11/00042", "INV/2026/11/00043"]
    assert invoice_numbers_in("1665000.00BUDI INV20261100044") == ["INV/2026/11/00044"]
    assert invoice_numbers_in("INVOICE JANUARI 2026") == []


def test_matching_order_va_then_number_then_a_single_open_amount() -> None:
    known = Candidates(by_va={"8808123456789012": Target("inv_va", "pay_va")},
                       by_number={"INV/2026/11/00042": Target("inv_42"), "INV/2026/11/00043": Target("inv_43")},
                       open_by_amount={100: ["inv_a"], 200: ["inv_b", "inv_c"], 300: ["inv_42"]})
    lines = [("SWITCHING CR 8808123456789012 INV/2026/11/00042", 1),  # the VA wins over the number
             ("TRSF INV 2026 11 42", 300),
             ("TRSF ANDI", 300),  # inv_42 was named by a line: never guessed by amount
             ("TRSF BUDI", 100), ("TRSF BUDI LAGI", 100),  # inv_a guessed once
             ("TRSF CITRA", 200),
             ("TRSF INV/2026/11/00042 INV/2026/11/00043", 5)]
    got = decide(lines, known)
    assert [(d.verdict, d.via, d.target.invoice_id if d.target else None, d.candidates) for d in got] == [
        (Verdict.MATCHED, Via.VIRTUAL_ACCOUNT, "inv_va", ()),
        (Verdict.MATCHED, Via.INVOICE_NUMBER, "inv_42", ()),
        (Verdict.NO_MATCH, None, None, ()),
        (Verdict.MATCHED, Via.AMOUNT, "inv_a", ()),
        (Verdict.NO_MATCH, None, None, ()),
        (Verdict.AMBIGUOUS, Via.AMOUNT, None, ("inv_b", "inv_c")),
        (Verdict.AMBIGUOUS, Via.INVOICE_NUMBER, None, ("inv_42", "inv_43"))]
    assert got[0].target == Target("inv_va", "pay_va")
