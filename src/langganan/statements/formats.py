"""Bank statement files → credit lines (pure: text in, values out; no database).

Each format's layout is what the banks' CSV downloads look like as far as public examples show; what is
uncertain is said where it is handled:

- `bca`: KlikBCA (individual) "Mutasi Rekening" download. Preamble lines `No. rekening : 0123456789`,
  `Nama : ...`, `Periode : 01/11/2026 - 30/11/2026`, `Kode Mata Uang : Rp`; then the header
  `Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo` (newer downloads: `Date,Description,Branch,Amount,,Balance`);
  rows `'02/11,'TRSF E-BANKING CR ...,'0000,1665000.00,CR,26665000.00` with a leading apostrophe on text
  cells, the amount unsigned with `CR`/`DB` in the next column and the running balance last; a transaction
  not yet posted has `PEND` in the date column; footer lines `Saldo Awal`, `Mutasi Kredit`, `Mutasi Debet`,
  `Saldo Akhir`. Older downloads write the date as `DD/MM` without a year: the year is then taken from the
  `Periode` line (uncertain: whether every download has one; without it such a file is refused).
- `bca_bisnis`: KlikBCA Bisnis download, `"Tanggal Transaksi","Keterangan","Cabang","Jumlah"[,"Saldo"]`, the
  amount and its mark in one cell (`"799,700.00 CR"`), dates `DD/MM/YYYY`. Whether a preamble and a balance
  column come with it varies between examples; both are accepted, neither is needed.
- `mandiri`: Mandiri (Livin'/MCM) CSV, `Account No,Date,Val. Date,Transaction Code,Description,Description,
  Reference No.,Debit,Credit[,Balance]`, dates `DD/MM/YY`, debit and credit in their own columns (`".00"` for
  none). The two Description columns and the reference are joined into one description.
- `generic`: any CSV with a header row and a `ColumnMapping` (columns by header name or 1-based number).

Amounts are whole rupiah written with either thousands separator (`1.500.000,00`, `1,500,000.00`); a
fraction of a rupiah other than `,00`/`.00` is refused. Only credits (money in) become lines; debits are
skipped, and so are pending rows. A file that cannot be read is refused whole (`StatementInvalid`, with the
line), so nothing of it is stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Format(StrEnum):
    BCA = "bca"
    BCA_BISNIS = "bca_bisnis"
    MANDIRI = "mandiri"
    GENERIC = "generic"


class DateOrder(StrEnum):
    DMY = "DD/MM/YYYY"  # also DD/MM/YY, DD-MM-YYYY, DD.MM.YYYY
    YMD = "YYYY-MM-DD"


class StatementInvalid(Exception):
    """The file cannot be read as this format; `line` is the file's line number (None: the whole file)."""

    def __init__(self, message: str, line: int | None = None, code: str = "statement_invalid") -> None:
        self.message = f"Line {line}: {message}" if line is not None else message
        super().__init__(self.message)
        self.line = line
        self.code = code


@dataclass(frozen=True)
class ColumnMapping:
    """Where a generic CSV keeps each value: a header name (case and spaces ignored) or a 1-based column
    number. `amount` is signed (negative, `(...)` or a `DB`/`D`/`DR` mark: a debit) unless `credit` names
    a column of money in only; `balance` is optional."""

    date: str
    description: str
    amount: str | None = None
    credit: str | None = None
    balance: str | None = None
    date_order: DateOrder = DateOrder.DMY


@dataclass(frozen=True)
class StatementLine:
    line: int  # the file's line number
    date: date
    amount: int  # whole rupiah, > 0 (a credit)
    description: str
    balance: int | None  # the running balance after the line, when the format has one
    raw: str  # the line as written in the file
    checksum: str  # sha256 hex: the same bank line in two files has the same checksum


@dataclass(frozen=True)
class Statement:
    format: Format
    account: str | None  # the bank account number the file names, when it does
    lines: tuple[StatementLine, ...]


# -- amounts and dates ------------------------------------------------------------------------------

_MARK = re.compile(r"\s*\b(CR|DB|DR|D|K|C)\s*$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")


def parse_amount(text: str) -> int:
    """A written amount → whole rupiah, signed. `1.500.000,00`, `1,500,000.00`, `1500000`, `Rp 1.500.000`,
    `-25.000`, `(25.000)`, `.00` are read; `1.500.000,50` (a fraction of a rupiah) and anything not a number
    raise ValueError with the reason."""
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.startswith("-"):
        negative, s = True, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    if s[:2].lower() == "rp":
        s = s[2:].lstrip(".")
        if s.startswith("-") and not negative:  # Rp-25.000
            negative, s = True, s[1:]
    if not s or not re.fullmatch(r"[\d.,]+", s) or not re.search(r"\d", s):
        raise ValueError(f"{text.strip()!r} is not an amount")
    whole, fraction = _split_decimal(s, text)
    if fraction.strip("0"):
        raise ValueError(f"{text.strip()!r} has a fraction of a rupiah")
    if not whole:
        whole = "0"
    value = int(whole)
    return -value if negative else value


def _split_decimal(s: str, text: str) -> tuple[str, str]:
    """The whole part's digits and the fraction's digits of `s` (digits, '.' and ',' only)."""
    last = max(s.rfind("."), s.rfind(","))
    if last < 0:
        return s, ""
    seps = {c for c in s if c in ".,"}
    tail = s[last + 1:]
    if len(seps) == 2:  # both: the last one is the decimal separator, the other groups thousands
        decimal = s[last]
        head = s[:last]
        if decimal in head or not 1 <= len(tail) <= 2:
            raise ValueError(f"{text.strip()!r} is not an amount")
        return _grouped(head, "," if decimal == "." else ".", text), tail
    sep = s[last]
    if s.count(sep) == 1 and len(tail) != 3:  # one separator not followed by a group of three: a decimal
        if len(tail) > 2:
            raise ValueError(f"{text.strip()!r} is not an amount")
        return s[:last], tail
    return _grouped(s, sep, text), ""


def _grouped(s: str, sep: str, text: str) -> str:
    if sep not in s:
        return s
    groups = s.split(sep)
    if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        raise ValueError(f"{text.strip()!r} is not an amount (thousands are grouped by three)")
    return "".join(groups)


def split_mark(text: str) -> tuple[str, str | None]:
    """`"799,700.00 CR"` → ("799,700.00", "CR"); a cell without a mark → (text, None)."""
    m = _MARK.search(text)
    if m is None or not re.search(r"\d", text[:m.start()]):
        return text, None
    mark = m.group(1).upper()
    return text[:m.start()], {"DR": "DB", "D": "DB", "K": "CR", "C": "CR"}.get(mark, mark)


def parse_date(text: str, order: DateOrder = DateOrder.DMY, *, year: int | None = None) -> date:
    """`02/11/2026`, `02/11/26`, `02-11-2026` (DMY) or `2026-11-02` (YMD); `02/11` with `year` given."""
    parts = [int(p) for p in _DIGITS.findall(text)]
    raw = text.strip()
    if not re.fullmatch(r"\d{1,4}[/.\-]\d{1,2}([/.\-]\d{2,4})?", raw):
        raise ValueError(f"{raw!r} is not a date")
    if order == DateOrder.YMD:
        if len(parts) != 3 or len(_DIGITS.findall(text)[0]) != 4:
            raise ValueError(f"{raw!r} is not a date written YYYY-MM-DD")
        y, m, d = parts
    else:
        if len(parts) == 2:
            if year is None:
                raise ValueError(f"{raw!r} has no year and the file names no period")
            d, m, y = parts[0], parts[1], year
        else:
            d, m, y = parts
            if y < 100:
                y += 2000
            elif y < 1000:
                raise ValueError(f"{raw!r} is not a date")
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date") from None


# -- checksums ---------------------------------------------------------------------------------------

def normalize(description: str) -> str:
    return " ".join(description.upper().split())


def _with_checksums(fmt: Format, account: str | None, rows: Sequence[tuple[int, date, int, str, int | None, str]]
                    ) -> tuple[StatementLine, ...]:
    """The checksum of a line: sha256 of the account (or the format when the file names none), the date,
    amount, normalized description, running balance (when the format has one) and how many identical
    lines came before it in the same file, so two real transfers that look alike stay two lines while the
    same line in two overlapping files is one."""
    seen: Counter[tuple[object, ...]] = Counter()
    out = []
    for line, day, amount, description, balance, raw in rows:
        key = (day.isoformat(), amount, normalize(description), "" if balance is None else str(balance))
        seen[key] += 1
        text = "\x1f".join([account or fmt.value, *map(str, key), str(seen[key])])
        out.append(StatementLine(line, day, amount, description.strip(), balance, raw,
                                 hashlib.sha256(text.encode()).hexdigest()))
    return tuple(out)


# -- reading CSV -------------------------------------------------------------------------------------

def _cells(row: Sequence[str]) -> list[str]:
    """Cells without surrounding spaces and without BCA's leading apostrophe (written so spreadsheets keep
    `'0000` and `'02/11` as text)."""
    out = []
    for cell in row:
        c = cell.strip()
        if c.startswith("'"):
            c = c[1:].strip()
        out.append(c)
    return out


def _rows(text: str) -> Iterator[tuple[int, list[str], str]]:
    """(line number, cells, the line as written) of each non-blank record."""
    physical = text.splitlines()
    sample = next((ln for ln in physical if ln.strip()), "")
    delimiter = max((",", ";", "\t"), key=sample.count) if sample else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            line = reader.line_num
            yield line, _cells(row), physical[line - 1] if 0 < line <= len(physical) else ""
    except csv.Error as exc:
        raise StatementInvalid(f"the file is not valid CSV ({exc}).", reader.line_num) from None


def _key(cell: str) -> str:
    return " ".join(cell.lower().replace('"', "").split())


FOOTER = ("saldo awal", "mutasi kredit", "mutasi debet", "mutasi debit", "saldo akhir", "starting balance",
          "ending balance", "opening balance", "closing balance", "total")


def _is_pending(cell: str) -> bool:
    return cell.strip().upper().startswith("PEND")


# -- BCA ---------------------------------------------------------------------------------------------

_BCA_HEADER = ("tanggal transaksi", "tanggal", "date", "tgl. transaksi")


def _preamble_value(cells: Sequence[str]) -> tuple[str, str]:
    """`No. rekening : 0123` (one cell, or `No. rekening`,`:`,`0123`, or `"No. Rekening","0123"`) → (key, value)."""
    joined = " ".join(c for c in cells if c)
    if ":" in joined:
        key, _, value = joined.partition(":")
    else:
        key, value = (cells[0], " ".join(cells[1:])) if len(cells) > 1 else (joined, "")
    return _key(key), value.strip(" :")


def _bca(text: str, fmt: Format) -> Statement:
    account: str | None = None
    period_end: date | None = None
    header: list[str] | None = None
    rows: list[tuple[int, date, int, str, int | None, str]] = []
    for line, cells, raw in _rows(text):
        if header is None:
            if _key(cells[0]) in _BCA_HEADER:
                header = [_key(c) for c in cells]
                continue
            key, value = _preamble_value(cells)
            if ("rekening" in key or "account" in key) and (digits := "".join(_DIGITS.findall(value))):
                account = digits
            elif ("periode" in key or "period" in key) and (dates := re.findall(r"\d{1,2}/\d{1,2}/\d{2,4}", value)):
                try:
                    period_end = parse_date(dates[-1])
                except ValueError:
                    raise StatementInvalid(f"the period {value!r} is not readable.", line) from None
            continue
        first = _key(cells[0])
        if _is_pending(cells[0]):
            continue
        if first.startswith(FOOTER):
            continue
        rows.extend(_bca_row(fmt, header, line, cells, raw, period_end))
    if header is None:
        raise StatementInvalid(f"no header row (Tanggal Transaksi,Keterangan,Cabang,Jumlah,...) was found: is this "
                               f"a {'KlikBCA' if fmt == Format.BCA else 'KlikBCA Bisnis'} CSV download?",
                               code="statement_unrecognized")
    return Statement(fmt, account, _with_checksums(fmt, account, rows))


def _bca_row(fmt: Format, header: Sequence[str], line: int, cells: list[str], raw: str,
             period_end: date | None) -> list[tuple[int, date, int, str, int | None, str]]:
    """One BCA row: date, description, branch, amount with its CR/DB mark (in the amount cell or the next),
    the running balance when the header names one. A description holding a comma (unquoted) adds cells:
    the row is read from both ends."""
    has_balance = any(h in ("saldo", "balance") for h in header)
    cells = list(cells)
    while cells and cells[-1] == "" and len(cells) > len(header):
        cells.pop()
    try:
        day = parse_date(cells[0], year=period_end.year if period_end else None)
    except ValueError as exc:
        raise StatementInvalid(f"{exc}.", line) from None
    if period_end is not None and len(_DIGITS.findall(cells[0])) == 2 and day > period_end:
        day = day.replace(year=day.year - 1)  # a period across the new year: December's lines
    tail = cells[1:]
    balance: int | None = None
    mark: str | None = None
    if has_balance and len(tail) >= 4 and tail[-1].upper() not in ("CR", "DB"):
        balance_cell = tail.pop()
        if balance_cell:
            balance = _amount(balance_cell, line)
    if tail and tail[-1].upper() in ("CR", "DB"):
        mark = tail.pop().upper()
    if len(tail) < 3:
        raise StatementInvalid("expected a description, branch and amount.", line)
    amount_cell = tail.pop()
    amount_text, cell_mark = split_mark(amount_cell)
    mark = mark or cell_mark
    tail.pop()  # the branch (Cabang)
    description = ",".join(tail)
    if mark is None:
        raise StatementInvalid(f"the amount {amount_cell!r} has no CR or DB mark.", line)
    amount = _amount(amount_text, line)
    if mark != "CR" or amount <= 0:
        return []
    return [(line, day, amount, description, balance, raw)]


def _amount(text: str, line: int) -> int:
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise StatementInvalid(f"{exc}.", line) from None


# -- Mandiri -----------------------------------------------------------------------------------------

def _mandiri(text: str) -> Statement:
    header: list[str] | None = None
    accounts: set[str] = set()
    rows: list[tuple[int, date, int, str, int | None, str]] = []
    for line, cells, raw in _rows(text):
        if header is None:
            keys = [_key(c) for c in cells]
            if "date" in keys and "credit" in keys:
                header = keys
            elif "tanggal" in keys and "kredit" in keys:
                header = [{"tanggal": "date", "kredit": "credit", "debet": "debit", "keterangan": "description",
                           "saldo": "balance", "no. rekening": "account no"}.get(k, k) for k in keys]
            continue
        if _key(cells[0]).startswith(FOOTER):
            continue
        cols = dict(zip(header, cells, strict=False))
        date_cell = cols.get("date", "")
        if _is_pending(date_cell):
            continue
        try:
            day = parse_date(date_cell)
        except ValueError as exc:
            raise StatementInvalid(f"{exc}.", line) from None
        credit = _amount(cols.get("credit") or "0", line)
        if credit <= 0:
            continue
        parts = [c for h, c in zip(header, cells, strict=False) if h.startswith(("description", "reference"))]
        description = " ".join(" ".join(p.split()) for p in parts if p)
        balance = _amount(cols["balance"], line) if cols.get("balance") else None
        if cols.get("account no"):
            accounts.add(cols["account no"])
        rows.append((line, day, credit, description, balance, raw))
    if header is None:
        raise StatementInvalid("no header row (Account No,Date,...,Debit,Credit) was found: is this a Mandiri CSV "
                               "download?", code="statement_unrecognized")
    account = next(iter(accounts)) if len(accounts) == 1 else None
    return Statement(Format.MANDIRI, account, _with_checksums(Format.MANDIRI, account, rows))


# -- generic -----------------------------------------------------------------------------------------

def _column(header: Sequence[str], name: str, what: str) -> int:
    if name.strip().isdigit():
        index = int(name) - 1
        if not 0 <= index < len(header):
            raise StatementInvalid(f"{what} column {name} is beyond the header's {len(header)} columns.", 1,
                                   code="statement_mapping_invalid")
        return index
    key = _key(name)
    for i, h in enumerate(header):
        if _key(h) == key:
            return i
    raise StatementInvalid(f"the header has no column {name!r} (for the {what}); it has: "
                           f"{', '.join(h for h in header if h)}.", 1, code="statement_mapping_invalid")


def _generic(text: str, mapping: ColumnMapping) -> Statement:
    if (mapping.amount is None) == (mapping.credit is None):
        raise StatementInvalid("name either an amount column or a credit column.", code="statement_mapping_invalid")
    rows_in = _rows(text)
    first = next(rows_in, None)
    if first is None:
        raise StatementInvalid("the file is empty.", code="statement_unrecognized")
    header = first[1]
    at_date = _column(header, mapping.date, "date")
    at_desc = _column(header, mapping.description, "description")
    at_amount = _column(header, mapping.amount or mapping.credit or "", "amount" if mapping.amount else "credit")
    at_balance = _column(header, mapping.balance, "balance") if mapping.balance else None
    rows: list[tuple[int, date, int, str, int | None, str]] = []
    for line, cells, raw in rows_in:
        cells = cells + [""] * (len(header) - len(cells))
        if _is_pending(cells[at_date]) or _key(cells[0]).startswith(FOOTER):
            continue
        try:
            day = parse_date(cells[at_date], mapping.date_order)
        except ValueError as exc:
            raise StatementInvalid(f"{exc}.", line) from None
        text_amount, mark = split_mark(cells[at_amount])
        if not text_amount.strip():
            continue
        amount = _amount(text_amount, line)
        if mark == "DB":
            amount = -abs(amount)
        if amount <= 0:
            continue
        balance = _amount(cells[at_balance], line) if at_balance is not None and cells[at_balance] else None
        rows.append((line, day, amount, cells[at_desc], balance, raw))
    return Statement(Format.GENERIC, None, _with_checksums(Format.GENERIC, None, rows))


# -- entry point -------------------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a byte order mark), else Windows-1252 (what Excel on Windows
    saves); a file holding NUL bytes is not text."""
    if b"\x00" in data:
        raise StatementInvalid("the file is not text (is it an Excel or PDF file? Download the CSV).",
                               code="statement_unrecognized")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise StatementInvalid("the file is not text in UTF-8 or Windows-1252.",
                                   code="statement_unrecognized") from None


def parse(fmt: Format, text: str, mapping: ColumnMapping | None = None) -> Statement:
    """The credit lines of a statement file (debits and pending rows left out), in file order."""
    if fmt in (Format.BCA, Format.BCA_BISNIS):
        return _bca(text, fmt)
    if fmt == Format.MANDIRI:
        return _mandiri(text)
    if mapping is None:
        raise StatementInvalid("a generic CSV needs its column mapping.", code="statement_mapping_invalid")
    return _generic(text, mapping)
